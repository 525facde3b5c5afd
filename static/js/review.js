// Review screen: keyboard shortcuts, zoom and the fast path. The form works without this file.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) return;
  var skipKey = (form.dataset.skipKey || "").toLowerCase();
  var zoomKey = (form.dataset.zoomKey || "").toLowerCase();
  var rotateKey = (form.dataset.rotateKey || "").toLowerCase();
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name="tags"]'));
  var byKey = {};
  boxes.forEach(function (box) {
    if (box.dataset.key) byKey[box.dataset.key.toLowerCase()] = box;
  });
  var chosen = document.getElementById("chosen");
  var frame = document.getElementById("page-frame");
  var zoomButton = document.getElementById("zoom-toggle");
  var image = document.getElementById("page-image");
  var rotateButton = document.getElementById("rotate-toggle");
  var rotationForm = document.getElementById("rotation-form");  // editors only
  var rotationSelect = document.getElementById("rotation-degrees");
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

  // Rotation: the page's own (Page.rotation, from the server) until the reviewer turns it; a
  // turn is theirs alone, for this page, unless an editor keeps it for everyone.
  function setRotation(degrees) {
    frame.classList.remove("rot-0", "rot-90", "rot-180", "rot-270");
    frame.classList.add("rot-" + degrees);
    frame.dataset.rotation = String(degrees);
    if (rotationSelect) rotationSelect.value = String(degrees);
  }

  function rotate() {
    setRotation(((parseInt(frame.dataset.rotation, 10) || 0) + 90) % 360);
  }

  if (rotationForm) {
    rotationForm.addEventListener("submit", function (event) {
      if (!window.fetch) return;
      event.preventDefault();
      var status = document.getElementById("rotation-status");
      fetch(rotationForm.getAttribute("action"), {
        method: "POST",
        body: new URLSearchParams(new FormData(rotationForm)),
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (body) {
          status.textContent = response.ok
            ? "Kept: this page shows turned " + body.rotation + "\u00b0 for everyone."
            : (body.detail || "The turn was not kept.");
        });
      }).catch(function () { status.textContent = "The turn was not kept: try again."; });
    });
    if (rotationSelect) rotationSelect.addEventListener("change", function () {
      setRotation(parseInt(rotationSelect.value, 10) || 0);
    });
  }

  // One submit per page: a double Enter must not post twice (the server would keep the first anyway).
  form.addEventListener("submit", function (event) {
    if (sending) { event.preventDefault(); return; }
    sending = true;
    form.classList.add("is-sending");
    if (fastPath && window.fetch && window.URLSearchParams && !event.defaultPrevented) {
      event.preventDefault();
      sendFast(event.submitter ? event.submitter.value : "submit");
    }
  });

  // The fast path (frontdesk.fast_path.wants_next_screen): the form goes with fetch() and the answer
  // describes the next page, swapped in here: one request per review instead of two. Anything
  // unexpected (a refusal, a network error, a changed tag set, no next page) falls back to what
  // the form does without scripts, so the next-page button works whatever happens. A refused
  // review changed nothing, so posting it again the plain way is safe, and a review the server
  // did record is recognised as a double submit (the first review stands).
  var fastPath = form.dataset.fastPath === "1";
  var prefetched = [];

  function plainSubmit(action) {
    var field = document.createElement("input");
    field.type = "hidden";
    field.name = "action";
    field.value = action;
    form.appendChild(field);
    HTMLFormElement.prototype.submit.call(form);
  }

  function sendFast(action) {
    var body = new URLSearchParams(new FormData(form));
    body.set("action", action);
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("application/json") !== 0) throw new Error("not a next screen");
      return response.json();
    }).then(function (next) {
      // A visitor's first review made their account: the whole next screen is loaded once, so
      // the header offers to save it.
      var firstWrite = form.querySelector('input[name="first_write"]');
      if (!next.page || next.tagset !== form.dataset.tagset || firstWrite) {
        window.location.assign(next.url);
        return;
      }
      show(next);
    }).catch(function () {
      plainSubmit(action);
    });
  }

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node) node.textContent = text;
  }

  function show(next) {
    var page = next.page;
    form.setAttribute("action", next.url);  // not form.action: the buttons named "action" shadow it
    Array.prototype.forEach.call(document.querySelectorAll('input[name="csrfmiddlewaretoken"]'), function (field) {
      field.value = next.csrf;
    });
    setRotation(page.rotation || 0);
    if (rotationForm) {
      rotationForm.setAttribute("action", rotationForm.dataset.url.replace("/0/", "/" + page.id + "/"));
      document.getElementById("rotation-status").textContent = "";
    }
    boxes.forEach(function (box) { box.checked = false; });
    showChosen();
    if (frame.classList.contains("is-zoomed")) toggleZoom();
    // The old scan must never show beside the new page's form: hidden until the new one loads.
    image.style.visibility = "hidden";
    image.alt = "Scan of page " + page.number + " of \u201c" + page.title + "\u201d" +
      (page.member ? ", papers of " + page.member : "");
    if (page.width && page.height) { image.width = page.width; image.height = page.height; }
    else { image.removeAttribute("width"); image.removeAttribute("height"); }
    image.src = page.image;
    document.getElementById("page-image-link").href = page.image;
    setText("review-document", page.title);
    setText("review-page", ", page " + page.number + (page.page_count ? " of " + page.page_count : ""));
    setText("review-member", page.member || "");
    document.getElementById("review-member").parentNode.hidden = !page.member;
    var notice = document.getElementById("already-reviewed");
    if (notice) notice.parentNode.removeChild(notice);
    var messages = document.querySelector(".messages");
    if (messages) messages.parentNode.removeChild(messages);
    if (typeof next.own_count === "number") {
      setText("own-count", next.own_count.toLocaleString("en-GB"));
      setText("own-count-noun", next.own_count === 1 ? "page" : "pages");
    }
    var progress = document.getElementById("review-progress");
    if (progress && next.progress) progress.innerHTML = next.progress;  // autoescaped by its template
    var title = document.title, cut = title.lastIndexOf(" \u00b7 ");
    document.title = "Review page " + page.number + " of " + page.title + (cut >= 0 ? title.slice(cut) : "");
    setText("review-announce", "Page " + page.number + " of " + page.title + " loaded");
    if (next.prefetch) {
      // Kept referenced so the browser keeps it decoded for the next Enter.
      var pre = new Image();
      pre.src = next.prefetch;
      prefetched = [pre];
    }
    form.dataset.prefetched = next.prefetch || "";
    history.replaceState(null, "", next.url);
    window.scrollTo(0, 0);
    frame.scrollTop = 0;
    frame.scrollLeft = 0;
    sending = false;
    form.classList.remove("is-sending");
    // Focus to the top of the new page (not left on the last tag pressed): the next Tab starts
    // from the page's title, and screen readers hear the announcement above.
    var heading = document.getElementById("review-title");
    if (heading) heading.focus({ preventScroll: true });
  }

  if (image) image.addEventListener("load", function () { image.style.visibility = ""; });
  if (image) image.addEventListener("error", function () { image.style.visibility = ""; });
  form.addEventListener("change", showChosen);
  if (zoomButton) zoomButton.addEventListener("click", toggleZoom);
  if (rotateButton) {
    rotateButton.hidden = false;  // it needs this script
    rotateButton.addEventListener("click", rotate);
  }
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
    if (key === rotateKey && rotateButton) { event.preventDefault(); rotate(); return; }
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
