// The API docs page (/docs): Swagger UI from the application's own copy of swagger-ui-dist,
// pointed at this service's OpenAPI. A file, not an inline script, so the page's CSP holds.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
