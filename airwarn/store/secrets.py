"""The store's own key, kept apart from the store: it seals the event log and encrypts the
secrets the store must keep (webhook signing secrets, browsers' push auth secrets).

`store.key` lives in the `--keys` folder beside the CAP signing key, made on first run with
mode 0600 (the folder 0700): 32 random bytes from which two keys are derived (HKDF-SHA256),
one for the log's seal (HMAC-SHA256, `airwarn.store.integrity`) and one for secrets at rest
(Fernet: AES-128-CBC with HMAC-SHA256, from the `cryptography` package). Whoever reads or
writes the database alone (a leaked backup, a database account, a SQL injection) can neither
read those secrets nor forge the log's seal; whoever also holds the keys folder can, which is
why it is kept apart from the store and its backups. Every process of a deployment (engines
and edges on a bus) needs the same folder, as it already does for the CAP key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.engine import Engine

from airwarn.store import StoreError

log = logging.getLogger(__name__)
KEY_FILE = "store.key"
SEALED = "enc1:"  # a secret at rest starts with this; anything else is from before 0005
# the columns that hold secrets: (table, key column, secret column)
SECRET_COLUMNS = (("webhook_subscriber", "id", "secret"), ("push_subscription", "id", "auth"))


class SecretBox:
    """Encrypts a secret for the store and opens it again; without a key (a store opened by
    a library caller that gave none) secrets stay as they are."""

    def __init__(self, fernet: Fernet | None) -> None:
        self._fernet = fernet

    def seal(self, secret: str) -> str:
        if self._fernet is None:
            return secret
        return SEALED + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(SEALED):
            return stored  # written before secrets were sealed, or without a key
        if self._fernet is None:
            raise StoreError(
                "this secret was sealed with a store key, and none was given; "
                "start with the --keys folder the store was written with"
            )
        try:
            return self._fernet.decrypt(stored[len(SEALED) :].encode()).decode()
        except InvalidToken:
            raise StoreError(
                "a secret in the store cannot be opened with this store key; "
                "start with the --keys folder the store was written with"
            ) from None

    @property
    def keyed(self) -> bool:
        return self._fernet is not None


@dataclass(frozen=True)
class StoreKeys:
    """The keys derived from `store.key`, and the folder it is in (where the record of the
    log's end is kept, see `airwarn.store.integrity.Anchor`)."""

    chain_key: bytes
    secrets: SecretBox
    key_id: str  # names the key (a hash of it) in the store, so a wrong folder is told apart
    folder: Path | None

    @classmethod
    def unkeyed(cls) -> StoreKeys:
        """No key: the log's seal is a plain hash chain (it finds accidents, not forgers) and
        secrets are kept as they are. For library callers; `airwarn serve` always has keys."""
        return cls(b"", SecretBox(None), "none", None)


def sealed_with(url: str) -> str | None:
    """The id of the store key a store's log was sealed with, or None where there is no store
    yet (or it cannot be read: opening it says why). Read before a keys folder is made, so a
    wrong or empty --keys is refused with nothing written into it."""
    from sqlalchemy.engine import make_url

    from airwarn.store import connect
    from airwarn.store.log import SERVICE_META

    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:" or not Path(database).expanduser().exists():
            return None
    try:
        engine = connect(url)
    except StoreError:
        return None
    try:
        with engine.connect() as db:
            if not sa.inspect(db).has_table("service_meta"):
                return None
            seal = db.execute(
                sa.select(SERVICE_META.c.value).where(SERVICE_META.c.key == "seal_key_id")
            ).scalar()
            return None if seal is None else str(seal)
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def load_store_keys(folder: Path) -> StoreKeys:
    """The store key in `folder`, made (0600, in a 0700 folder) if it is not there yet."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / KEY_FILE
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(base64.b64encode(os.urandom(32)).decode() + "\n")
                file.flush()
                os.fsync(file.fileno())
    try:
        master = base64.b64decode(path.read_text().strip(), validate=True)
    except (OSError, ValueError):
        master = b""
    if len(master) != 32:
        raise StoreError(
            f"{path} is not a store key (32 bytes, base64); restore it from the "
            "backup of the keys folder, or point --keys at the right folder"
        )
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s can be read by others than its owner; chmod 600 it", path)
    if stat.S_IMODE(folder.stat().st_mode) & 0o077:
        log.warning(
            "the keys folder %s can be opened by others than its owner; chmod 700 it", folder
        )
    chain = _derive(master, b"airwarn log seal v1")
    fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"airwarn secrets at rest v1")))
    key_id = hashlib.sha256(b"airwarn store key id\0" + master).hexdigest()[:16]
    return StoreKeys(chain, SecretBox(fernet), key_id, folder)


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def seal_plaintext_secrets(db: Engine, box: SecretBox) -> int:
    """Encrypt secrets still kept in plain text (written before 0005); how many."""
    if not box.keyed:
        return 0
    sealed = 0
    with db.begin() as conn:
        present = set(sa.inspect(conn).get_table_names())
        for table, key, column in SECRET_COLUMNS:
            if table not in present:
                continue
            rows = sa.table(table, sa.column(key), sa.column(column))
            plain = conn.execute(
                sa.select(rows.c[key], rows.c[column]).where(~rows.c[column].startswith(SEALED))
            ).all()
            for row_id, secret in plain:
                conn.execute(
                    sa.update(rows)
                    .where(rows.c[key] == row_id)
                    .values({column: box.seal(str(secret))})
                )
            sealed += len(plain)
    return sealed
