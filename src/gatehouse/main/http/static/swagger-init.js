// Starts Swagger UI on /docs with the settings the page carries in #swagger-config.
// A file of its own, not an inline script, so the page's CSP can say script-src 'self'.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("swagger-config").textContent);
  config.dom_id = "#swagger-ui";
  config.layout = "BaseLayout";
  config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  window.ui = SwaggerUIBundle(config);
})();
