/* A refused form's error summary (templates/_macros/forms.html, rsvp/_form.html): a tap on
   one of its links brings the field to the middle of the screen with the cursor in it,
   its label above it in sight. Without this file the link only scrolls to the field. */
(function () {
  "use strict";
  document.querySelectorAll(".error-links a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      target.scrollIntoView({block: "center"});
      target.focus({preventScroll: true});
    });
  });
})();
