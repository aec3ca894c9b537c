/* The delegation's forms on a flaky link: a request that fails leaves the form as typed and
   shows a "try again" message; a field checked as it is left does not upload the photo.
   A change sent from the list says which rows the screen shows (HX-Rows: "id.version ..."), so
   that the answer brings only those that differ from what a reload would show. A form sent back
   with errors gets the focus on its error summary. */
(function () {
  "use strict";
  function notice(elt, selector) {
    var form = elt && elt.closest ? elt.closest("form") : null;
    var box = (form && form.querySelector(selector)) || document.querySelector(selector);
    if (box) { box.hidden = false; }
  }
  function hideAll() {
    document.querySelectorAll(".retry,.too-large").forEach(function (p) { p.hidden = true; });
  }
  function shownRows() {
    var rows = document.querySelectorAll("#plist-body > tr[data-v]");
    return Array.prototype.map.call(rows, function (tr) {
      return tr.id.slice(2) + "." + tr.getAttribute("data-v");
    }).join(" ");
  }
  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var request = ctx && ctx.request;
    if (!request) { return; }
    var checking = /\/validate\//.test(request.action || "");
    if (checking && request.body && request.body.delete) {
      request.body.delete("photo");
    }
    if (!checking && request.method !== "GET" && request.headers && document.getElementById("plist-body")) {
      request.headers["HX-Rows"] = shownRows();
    }
  });
  document.addEventListener("htmx:after:swap", function () {
    var summary = document.querySelector("#error-summary:not([data-seen])");
    if (summary) {
      summary.setAttribute("data-seen", "");
      summary.focus();
    }
  });
  document.addEventListener("htmx:error", function (event) {
    notice(event.target, ".retry");
  });
  document.addEventListener("htmx:response:error", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var status = ctx && ctx.response ? ctx.response.status : 0;
    if (status === 413) { notice(event.target, ".too-large"); }
    else if (status >= 500 || status === 0) { notice(event.target, ".retry"); }
  });
  document.addEventListener("htmx:before:request", hideAll);
})();
