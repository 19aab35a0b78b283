/* Search box suggestions (GET /api/v1/search/suggest): products, categories and brands as the
   shopper types, debounced. An ARIA 1.2 combobox: the input owns a listbox; Up/Down move
   through the options (aria-activedescendant), Enter opens the highlighted one, Escape closes
   the list. With nothing highlighted Enter submits the form as usual, and without this script
   the form is a plain GET search. Labels are set as text, never as markup. */
(function () {
  "use strict";

  var DELAY_MS = 150;
  var MIN_LETTERS = 2;
  var KINDS = { category: "Category", brand: "Brand", product: "" };

  function setup(input, number) {
    var endpoint = input.getAttribute("data-suggest-url");
    var listId = "search-suggestions-" + number;
    var list = document.createElement("ul");
    var items = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    list.id = listId;
    list.className = "autocomplete-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Search suggestions");
    list.hidden = true;
    input.parentNode.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var options = list.children;
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        if (options[index].scrollIntoView) { options[index].scrollIntoView({ block: "nearest" }); }
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(suggestions) {
      items = suggestions;
      list.textContent = "";
      suggestions.forEach(function (item, index) {
        var option = document.createElement("li");
        var label = document.createElement("span");
        option.id = listId + "-" + index;
        option.className = "autocomplete-option";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-index", String(index));
        option.setAttribute("data-kind", item.kind);
        label.textContent = item.label;
        option.appendChild(label);
        if (KINDS[item.kind]) {
          var kind = document.createElement("span");
          kind.className = "autocomplete-kind";
          kind.textContent = KINDS[item.kind];
          option.appendChild(kind);
        }
        list.appendChild(option);
      });
      active = -1;
      if (suggestions.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
    }

    function ask() {
      var typed = input.value.trim();
      if (typed.replace(/\W/g, "").length < MIN_LETTERS) { render([]); return; }
      var mine = ++asked;
      fetch(endpoint + "?q=" + encodeURIComponent(typed.slice(0, 100)), {
        headers: { Accept: "application/json" }, credentials: "same-origin"
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (data) {
        if (mine === asked && data && input.value.trim() === typed) { render(data.suggestions || []); }
      }).catch(function () { if (mine === asked) { close(); } });
    }

    function open(index) {
      var item = items[index];
      if (item && item.url) { window.location.assign(item.url); }
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      var showing = !list.hidden && items.length > 0;
      if (event.key === "ArrowDown" || event.key === "Down") {
        event.preventDefault();
        if (!showing && items.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
        if (items.length) { highlight(active + 1 >= items.length ? 0 : active + 1); }
      } else if (event.key === "ArrowUp" || event.key === "Up") {
        event.preventDefault();
        if (showing) { highlight(active <= 0 ? items.length - 1 : active - 1); }
      } else if (event.key === "Enter") {
        if (showing && active >= 0) { event.preventDefault(); open(active); }
      } else if (event.key === "Escape" || event.key === "Esc") {
        if (showing) { event.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 150); });
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the focus
    list.addEventListener("click", function (event) {
      var option = event.target.closest ? event.target.closest("[role=option]") : null;
      if (option) { open(Number(option.getAttribute("data-index"))); }
    });
  }

  var boxes = document.querySelectorAll("input[data-suggest-url]");
  for (var i = 0; i < boxes.length; i++) { setup(boxes[i], i); }
})();
