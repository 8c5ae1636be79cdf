// A tiny single-page app using Gatehouse's cookie mode the way the API guide says: sign in
// with {"cookie": true}, keep csrf_token from the answer in memory, echo it in X-CSRF-Token.
// The API's base comes from ?api= (another host), else it is this page's own origin.
(function () {
  "use strict";
  var api = new URLSearchParams(location.search).get("api") || location.origin;
  var csrf = null;

  async function post(path, body, headers) {
    var response = await fetch(api + path, {
      method: "POST",
      credentials: "include",
      headers: Object.assign({ "Content-Type": "application/json" }, headers || {}),
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  async function remembered(result) {
    if (result.status === 200) {
      csrf = result.body.csrf_token;
    }
    return result;
  }

  window.spa = {
    login: async function (email, password) {
      return remembered(
        await post("/api/v1/auth/login", { email: email, password: password, cookie: true })
      );
    },
    refresh: async function () {
      return remembered(
        await post("/api/v1/auth/refresh", { cookie: true }, { "X-CSRF-Token": csrf })
      );
    },
    refreshWithoutCsrfHeader: function () {
      return post("/api/v1/auth/refresh", { cookie: true });
    },
    readableCookies: function () {
      return document.cookie;
    },
  };
  document.getElementById("status").textContent = "ready";
})();
