/* Recommendation shelves hold more cards than a row shows (8 in a row of 6 on a desktop, with no
 * swipe to hint at the rest): when a row overflows, arrows appear beside its title and scroll it
 * by most of a row. A file of its own: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  function arrow(label, text, step, row) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "shelf-arrow";
    button.setAttribute("aria-label", label);
    button.textContent = text;
    button.addEventListener("click", function () {
      row.scrollBy({left: step * row.clientWidth * 0.8, behavior: "smooth"});
    });
    return button;
  }

  function equip(section) {
    var row = section.querySelector(".shelf-row");
    if (!row || section.querySelector(".shelf-arrows")) { return; }
    var nav = document.createElement("div");
    nav.className = "shelf-arrows";
    var back = arrow("Scroll back", "‹", -1, row);
    var more = arrow("Show more", "›", 1, row);
    nav.appendChild(back);
    nav.appendChild(more);
    section.insertBefore(nav, row);
    function update() {
      var overflowing = row.scrollWidth > row.clientWidth + 2;
      nav.hidden = !overflowing;
      back.disabled = row.scrollLeft <= 1;
      more.disabled = row.scrollLeft + row.clientWidth >= row.scrollWidth - 1;
    }
    row.addEventListener("scroll", update, {passive: true});
    window.addEventListener("resize", update);
    update();
  }

  function start() {
    document.querySelectorAll("section.shelf.widget").forEach(equip);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
