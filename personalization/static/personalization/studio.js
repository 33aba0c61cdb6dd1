/* The htmx behaviour the personalization studio needs; loaded (deferred) right after htmx.min.js
 * by personalization/_assets.html, so a host page needs nothing else.
 *
 * - Responses: htmx 2 swaps no 4xx by default. The studio answers a conflict (409, e.g. cancelling
 *   a finished job), bad input (422, the form with its errors) and a throttle (429, the "please
 *   wait" card) with HTML meant to be swapped in; other 4xx/5xx stay errors and 204 swaps nothing.
 *   Polling stops on 286 (htmx's "stop polling" status), which htmx handles itself.
 * - CSRF: every non-GET htmx request sends Django's X-CSRFToken header, read from the
 *   <meta name="personalization-csrf-token"> tag, or else from the "csrftoken" cookie.
 */
(function () {
  "use strict";
  if (!window.htmx) {
    console.error("personalization/studio.js: htmx is not loaded (include personalization/_assets.html)");
    return;
  }

  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "4(09|22|29)", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ];

  function csrfToken() {
    const meta = document.querySelector('meta[name="personalization-csrf-token"]');
    if (meta && meta.content) return meta.content;
    const cookie = document.cookie.split(";").map((c) => c.trim()).find((c) => c.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb === "get") return;
    const token = csrfToken();
    if (token) event.detail.headers["X-CSRFToken"] = token;
  });
})();
