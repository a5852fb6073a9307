// Buttons with data-copy="ID" copy that field's value; the status line says it worked.
document.querySelectorAll("[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copy);
    const status = document.querySelector("[data-copy-status]");
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      if (status) status.textContent = "Copied.";
    } catch {
      if (status) status.textContent = "Selected: copy it with your device's copy command.";
    }
  });
});
