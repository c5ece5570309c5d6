// The alert tone, made with WebAudio (no sound file). Browsers let a page play sound only after
// a person has touched it, so the context is unlocked on the first tap or key press.

let context = null;

function audio() {
  if (!context) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    context = new Context();
  }
  return context;
}

export function unlockOnFirstTouch() {
  const unlock = () => {
    const ctx = audio();
    if (ctx && ctx.state === "suspended") ctx.resume();
  };
  for (const type of ["pointerdown", "keydown"]) {
    window.addEventListener(type, unlock, { once: true, capture: true });
  }
}

/** A rising and falling two-tone wail for `seconds`; answers whether sound could play. */
export async function playAlertTone(seconds = 3) {
  const ctx = audio();
  if (!ctx) return false;
  if (ctx.state === "suspended") {
    try { await ctx.resume(); } catch { return false; }
  }
  if (ctx.state !== "running") return false;
  const start = ctx.currentTime + 0.05;
  const oscillator = ctx.createOscillator();
  const gain = ctx.createGain();
  oscillator.type = "sawtooth";
  for (let s = 0; s < seconds; s += 1) {
    oscillator.frequency.setValueAtTime(620, start + s);
    oscillator.frequency.linearRampToValueAtTime(1050, start + s + 0.5);
    oscillator.frequency.linearRampToValueAtTime(620, start + s + 1);
  }
  gain.gain.setValueAtTime(0, start);
  gain.gain.linearRampToValueAtTime(0.25, start + 0.05);
  gain.gain.setValueAtTime(0.25, start + seconds - 0.1);
  gain.gain.linearRampToValueAtTime(0, start + seconds);
  oscillator.connect(gain).connect(ctx.destination);
  oscillator.start(start);
  oscillator.stop(start + seconds + 0.05);
  return true;
}
