// Starts Swagger UI on the gateway's docs page. Served as a static asset (copied into dist-assets/
// by scripts/copy-swagger-ui.mjs), not inlined, so the page's CSP can forbid inline scripts.
// The document URL comes from the page (data-spec-url), so this file holds no paths.
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The BaseLayout has no top bar, and no validator badge: nothing on the page reaches the internet.
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis],
    validatorUrl: null,
    // A pasted x-signature survives a reload (kept in this browser's localStorage only).
    persistAuthorization: true,
    displayOperationId: true,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
  });
});
