// The campaigns area's progressive parts (every page works without them): the campaign form
// checks its code pattern as it is typed, and a task's page follows its progress live.
"use strict";
(() => {
  const room = document.getElementById("pattern-room");
  const inputs = document.querySelectorAll("[data-pattern-check]");
  if (room && inputs.length) {
    let timer = 0;
    let asked = 0;
    const check = async () => {
      const query = new URLSearchParams();
      inputs.forEach((input) => query.set(input.name, input.value));
      const mine = ++asked;
      try {
        const reply = await fetch(`/dashboard/campaigns/new/pattern?${query}`, { headers: { Accept: "application/json" } });
        if (!reply.ok || mine !== asked) return;
        const answer = await reply.json();
        room.textContent = answer.message;
        room.classList.toggle("ok", answer.ok);
        room.classList.toggle("refused", !answer.ok);
        room.hidden = false;
      } catch (error) {
        // Offline or the server went away: the form's own "Check pattern" button still works.
      }
    };
    inputs.forEach((input) => input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(check, 300);
    }));
  }

  const task = document.querySelector("[data-progress-url]");
  if (task && !task.hasAttribute("data-done")) {
    const bar = task.querySelector("progress");
    const message = document.getElementById("task-message");
    const state = document.getElementById("task-state");
    const refresh = document.getElementById("task-refresh");
    if (refresh) refresh.hidden = true;
    const poll = async () => {
      let answer = null;
      try {
        const reply = await fetch(task.dataset.progressUrl, { headers: { Accept: "application/json" } });
        if (reply.ok) answer = await reply.json();
      } catch (error) {
        answer = null;
      }
      if (answer) {
        bar.max = Math.max(answer.total, 1);
        bar.value = answer.total ? answer.progress : (answer.done ? 1 : 0);
        bar.textContent = `${answer.percent}%`;
        if (message.textContent !== answer.message) message.textContent = answer.message;
        state.textContent = answer.state;
        state.className = `badge task-${answer.status}`;
        message.className = `task-message task-${answer.status}`;
        if (answer.done) {
          task.setAttribute("data-done", "");
          return;
        }
      }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 500);
  }
})();
