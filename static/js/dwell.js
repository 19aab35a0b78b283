// Dwell time of a product page: how long it was visible, sent once when the page is left.
// storefront/tracking/dwell.py explains the token; no inline code, so the CSP stays as it is.
(function () {
  "use strict";
  var holder = document.getElementById("dwell");
  if (!holder || !navigator.sendBeacon) { return; }
  var token = holder.getAttribute("data-token");
  var url = holder.getAttribute("data-url");
  var visibleMs = 0;
  var visibleSince = document.visibilityState === "visible" ? performance.now() : null;
  var sent = false;

  function pause() {
    if (visibleSince !== null) {
      visibleMs += performance.now() - visibleSince;
      visibleSince = null;
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      if (visibleSince === null) { visibleSince = performance.now(); }
    } else {
      pause();
    }
  });

  // pagehide fires on leaving, closing and on mobile when the tab is discarded; once per view
  // (a page restored from the back/forward cache does not report again).
  window.addEventListener("pagehide", function () {
    if (sent) { return; }
    pause();
    sent = true;
    var body = new URLSearchParams();
    body.set("token", token);
    body.set("ms", String(Math.round(visibleMs)));
    navigator.sendBeacon(url, body);
  });
})();
