// Review screen: keyboard shortcuts and zoom. The form works without this file.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) return;
  var skipKey = (form.dataset.skipKey || "").toLowerCase();
  var zoomKey = (form.dataset.zoomKey || "").toLowerCase();
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="tags"]'));
  var byKey = {};
  boxes.forEach(function (box) {
    if (box.dataset.key) byKey[box.dataset.key.toLowerCase()] = box;
  });
  var chosen = document.getElementById("chosen");
  var frame = document.getElementById("page-frame");
  var zoomButton = document.getElementById("zoom-toggle");
  var image = document.getElementById("page-image");
  var sending = false;

  function showChosen() {
    if (!chosen) return;
    var names = boxes.filter(function (b) { return b.checked; }).map(function (b) {
      return b.parentNode.querySelector(".tag-toggle__name").textContent;
    });
    chosen.textContent = names.length
      ? "Chosen: " + names.join(", ") + "."
      : "Nothing chosen: submitting says \u201cnothing of note\u201d.";
  }

  function send(action) {
    if (sending) return;
    var button = form.querySelector('button[name="action"][value="' + action + '"]');
    if (form.requestSubmit) form.requestSubmit(button); else button.click();
  }

  function toggleZoom() {
    var zoomed = frame.classList.toggle("is-zoomed");
    zoomButton.setAttribute("aria-pressed", zoomed ? "true" : "false");
    zoomButton.querySelector(".zoom-label").textContent = zoomed ? "Zoom out" : "Zoom in";
  }

  // One submit per page: a double Enter must not post twice (the server would keep the first anyway).
  form.addEventListener("submit", function (event) {
    if (sending) { event.preventDefault(); return; }
    sending = true;
    form.classList.add("is-sending");
  });
  form.addEventListener("change", showChosen);
  if (zoomButton) zoomButton.addEventListener("click", toggleZoom);
  if (image) image.addEventListener("click", toggleZoom);

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var target = event.target;
    if (target.closest && target.closest("input[type=text], input[type=password], input[type=email], textarea, select, [contenteditable]")) return;
    if (event.key === "Enter") {
      // A focused button or link does what it says; anywhere else Enter submits.
      if (target.closest && target.closest("button, a, summary")) return;
      event.preventDefault();
      send("submit");
      return;
    }
    var key = (event.key || "").toLowerCase();
    if (key === skipKey) { event.preventDefault(); send("skip"); return; }
    if (key === zoomKey) { event.preventDefault(); toggleZoom(); return; }
    var box = byKey[key];
    if (box) {
      event.preventDefault();
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  // Pages shown from the back/forward cache must be usable again.
  window.addEventListener("pageshow", function () { sending = false; form.classList.remove("is-sending"); });
  showChosen();
})();
