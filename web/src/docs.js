// The API docs page (/docs): Swagger UI from the package's own files, no internet and no inline
// script. The validator badge is off: it would send the API's description to a public service.
window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false,
});
