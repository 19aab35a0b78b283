/* The filters of a search or category page (templates/macros/facets.html) sit in a <details>
   that is open in the markup, so they show without this script. On a phone, where they would
   push the results below the fold, the panel starts closed (one tap on "Filters" opens it),
   unless a filter is on. */
(function () {
  "use strict";
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 859px)").matches : false;
  var panels = document.querySelectorAll("details.facet-panel");
  for (var i = 0; i < panels.length; i++) {
    if (narrow && !panels[i].querySelector(".facet-value.selected")) { panels[i].open = false; }
  }
})();
