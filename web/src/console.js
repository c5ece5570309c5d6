import L from "leaflet"; window.L = L; console.log("airwarn console placeholder");
