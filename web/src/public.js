import L from "leaflet"; window.L = L; console.log("airwarn public placeholder");
