// A build's log as it is written: ask the API for what came after what is shown, once a second, until it ends.
(() => {
  const card = document.getElementById("build");
  if (!card || !["queued", "running"].includes(card.dataset.state)) return;
  const log = document.getElementById("build-log");
  let offset = log.textContent.length;
  async function follow() {
    const response = await fetch(`/api/v1/images/builds/${card.dataset.build}/log/?offset=${offset}`, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const body = await response.json();
      if (body.offset < offset) log.textContent = "";
      log.textContent += body.text;
      offset = body.offset;
      if (body.text) log.scrollTop = log.scrollHeight;
      const state = card.querySelector('[data-field="state"]');
      state.textContent = body.state;
      state.className = `badge status-${body.state}`;
      card.querySelector('[data-field="step"]').textContent = body.step ? `step: ${body.step}` : "";
      if (body.done) { window.location.reload(); return; }
    }
    setTimeout(follow, 1000);
  }
  setTimeout(follow, 500);
})();
