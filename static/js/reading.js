// The reading view's keyboard (/pages/<id>/, /documents/<id>/, /search/): j or → for the next
// page, k or ← for the previous one, / to the search box; and "copy text". A static file: the
// CSP allows no inline script. Keys typed into a field are left alone.
(function () {
  "use strict";
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var go = null;
    if (event.key === "j" || event.key === "ArrowRight") go = document.querySelector('[data-nav="next"]');
    if (event.key === "k" || event.key === "ArrowLeft") go = document.querySelector('[data-nav="prev"]');
    if (go) {
      event.preventDefault();
      window.location.href = go.href;
      return;
    }
    if (event.key === "/") {
      var box = document.querySelector('[data-search-box="main"]') || document.querySelector("[data-search-box]");
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    }
  });
  document.querySelectorAll("[data-copy-text]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var list = document.getElementById(button.getAttribute("data-copy-text"));
      var lines = Array.prototype.map.call(list.querySelectorAll(".line-text"), function (el) {
        return el.textContent;
      });
      navigator.clipboard.writeText(lines.join("\n")).then(function () {
        button.textContent = "Copied";
      });
    });
  });
})();
