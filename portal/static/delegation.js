/* The delegation's forms on a flaky link: a request that fails leaves the form as typed and
   shows a "try again" message; a field checked as it is left does not upload the photo. */
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
  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.request && /\/validate\//.test(ctx.request.action || "") && ctx.request.body && ctx.request.body.delete) {
      ctx.request.body.delete("photo");
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
