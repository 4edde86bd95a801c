// Progressive enhancements only: every page works without JavaScript.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  const selector = event.target.dataset && event.target.dataset.copy;
  if (!selector) return;
  const input = document.querySelector(selector);
  input.select();
  navigator.clipboard?.writeText(input.value).then(() => { event.target.textContent = "Copied"; });
});
