// The API documentation page: Swagger UI over our own OpenAPI document. A file, not an inline
// script, so that the pages' Content-Security-Policy (script-src 'self') lets it run.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
