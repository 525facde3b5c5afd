// Assignment admin: show how many pages the chosen members, parties and documents cover, before
// saving. The autocomplete widgets (select2) report changes through django.jQuery.
(function () {
  "use strict";
  var $ = window.django && window.django.jQuery;
  if (!$) return;
  $(function () {
    var output = document.getElementById("scope-size");
    if (!output || !output.dataset.url) return;
    var names = ["members", "parties", "documents"];
    var pending = null;
    var serial = 0;

    function query() {
      var params = new URLSearchParams();
      names.forEach(function (name) {
        var select = document.getElementById("id_" + name);
        if (!select) return;
        Array.prototype.forEach.call(select.selectedOptions, function (option) {
          params.append(name, option.value);
        });
      });
      return params;
    }

    function update() {
      var mine = ++serial;
      output.textContent = "Counting…";
      fetch(output.dataset.url + "?" + query().toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
        .then(function (size) {
          if (mine !== serial) return;
          output.textContent = size.pages || size.documents
            ? size.pages.toLocaleString("en-GB") + " pages in " + size.documents.toLocaleString("en-GB") + " documents (not saved yet)"
            : "Nothing selected yet.";
        })
        .catch(function () { if (mine === serial) output.textContent = "Could not count the pages; they are counted when you save."; });
    }

    $(document).on("change", names.map(function (n) { return "#id_" + n; }).join(", "), function () {
      clearTimeout(pending);
      pending = setTimeout(update, 250);
    });
  });
})();
