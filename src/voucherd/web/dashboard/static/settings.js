// The settings pages' progressive part: a Copy button beside a secret shown once.
"use strict";
(() => {
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    const field = document.getElementById(button.dataset.copy);
    const said = document.getElementById("copied");
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(field.value);
        if (said) said.textContent = "Copied. Keep it somewhere safe.";
      } catch (error) {
        field.select();
        if (said) said.textContent = "Select the text and copy it yourself.";
      }
    });
  });
})();
