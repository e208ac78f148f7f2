// The dashboard's progressive parts: every page works without them.
"use strict";
(() => {
  // A form with data-confirm asks before it is sent (revoke, refund, deactivate...).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // A field refused by the server loses its mark and message once it is changed: the server
  // checks it again when the form is sent.
  document.querySelectorAll("[aria-invalid=true]").forEach((field) => {
    const clear = () => {
      field.removeAttribute("aria-invalid");
      field.closest(".field")?.classList.remove("invalid");
      const message = document.getElementById(`${field.id}-error`);
      if (message) message.hidden = true;
    };
    field.addEventListener("input", clear, { once: true });
    field.addEventListener("change", clear, { once: true });
  });
  // A group marked data-shown-for="select=value" shows only while its form's select has that
  // value (a coupon's dates, say). Without script every group shows, its hint saying when it
  // applies; the server reads only the fields of the chosen kind. A group with an error stays.
  document.querySelectorAll("[data-shown-for]").forEach((group) => {
    const [name, value] = group.dataset.shownFor.split("=");
    const select = group.closest("form")?.elements.namedItem(name);
    if (!(select instanceof HTMLSelectElement)) return;
    const update = () => {
      group.hidden = select.value !== value && !group.querySelector("[aria-invalid]");
    };
    select.addEventListener("change", update);
    update();
  });
  // A submitted form's buttons wait, so a double click sends it once.
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      setTimeout(() => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; }), 0);
    });
  });
})();
