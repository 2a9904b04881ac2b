/* twostep pages: small progressive enhancements. Everything works without this file. */
(() => {
  "use strict";

  const announce = (scope, text) => {
    const status = (scope.closest("main") || document).querySelector("[data-copy-status]");
    if (status) status.textContent = text;
  };

  /* A code field of the wrong length gets our own words, not the browser's "format".
     Registered before the auto-submit below, so its check sees this keystroke's validity. */
  for (const input of document.querySelectorAll("input.code-input[pattern]")) {
    const digits = Number.parseInt(input.dataset.autosubmit || input.maxLength / 2 - 1, 10) || 6;
    const message = `Enter all ${digits} digits of the code your app shows now.`;
    const update = () => {
      input.setCustomValidity("");
      if (!input.validity.valid) input.setCustomValidity(message);
    };
    input.addEventListener("input", update);
    update();
  }

  /* A code field: accept pasted "123 456", submit once the digits are complete. */
  for (const input of document.querySelectorAll("input[data-autosubmit]")) {
    const digits = Number.parseInt(input.dataset.autosubmit, 10) || 6;
    let sent = false;
    input.addEventListener("input", () => {
      const compact = input.value.replace(/[\s-]/g, "");
      if (sent || !/^\d+$/.test(compact) || compact.length !== digits) return;
      input.value = compact;
      const form = input.form;
      if (form && form.checkValidity()) {
        sent = true;
        form.requestSubmit();
      }
    });
  }

  /* Never submit a form twice by double-clicking. */
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button[type=submit]")) {
        window.setTimeout(() => { button.disabled = true; }, 0);
      }
    });
  }

  window.addEventListener("pageshow", () => {
    for (const button of document.querySelectorAll("button[type=submit]")) button.disabled = false;
  });

  /* "This sign-in expires in 4:32". */
  for (const element of document.querySelectorAll("[data-countdown]")) {
    const end = Date.now() + Number.parseInt(element.dataset.countdown, 10) * 1000;
    const text = element.querySelector("[data-countdown-text]");
    const expired = document.querySelector("[data-countdown-expired]");
    const tick = () => {
      const left = Math.max(0, Math.round((end - Date.now()) / 1000));
      text.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
      if (left === 0) {
        window.clearInterval(timer);
        element.hidden = true;
        if (expired) expired.hidden = false;
      }
    };
    const timer = window.setInterval(tick, 1000);
    tick();
  }

  /* A locked account: "It unlocks in 14:32", then a way to try again. */
  for (const element of document.querySelectorAll("[data-unlock]")) {
    const end = Date.now() + Number.parseInt(element.dataset.unlock, 10) * 1000;
    const text = element.querySelector("[data-unlock-text]");
    const unlocked = element.parentElement.querySelector("[data-unlocked]");
    const tick = () => {
      const left = Math.max(0, Math.round((end - Date.now()) / 1000));
      const hours = Math.floor(left / 3600);
      const minutes = String(Math.floor((left % 3600) / 60)).padStart(hours ? 2 : 1, "0");
      const clock = `${minutes}:${String(left % 60).padStart(2, "0")}`;
      text.textContent = hours ? `${hours}:${clock}` : clock;
      if (left === 0) {
        window.clearInterval(timer);
        element.hidden = true;
        if (unlocked) unlocked.hidden = false;
      }
    };
    const timer = window.setInterval(tick, 1000);
    tick();
  }

  /* Copy buttons. */
  const copyFallback = (value) => {
    const area = document.createElement("textarea");
    area.value = value;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  };
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const value = button.dataset.copy;
      let ok = false;
      try {
        await navigator.clipboard.writeText(value);
        ok = true;
      } catch {
        ok = copyFallback(value);
      }
      announce(button, ok ? "Copied to the clipboard." : "Copying failed: select the text and copy it.");
    });
  }

  /* Print buttons. */
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }

  /* Backup codes: the download and the printout carry the day they were made (the reader's). */
  for (const link of document.querySelectorAll("a[data-download-codes]")) {
    const now = new Date();
    const today = now.toLocaleDateString(undefined, { dateStyle: "long" });
    const iso = [now.getFullYear(), now.getMonth() + 1, now.getDate()]
      .map((part) => String(part).padStart(2, "0")).join("-");
    const text = link.dataset.downloadCodes.replace("{date}", `${today} (${iso})`);
    link.href = `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
    link.download = `${link.dataset.downloadName}-${iso}.txt`;
    for (const slot of document.querySelectorAll("[data-today]")) slot.textContent = today;
    for (const line of document.querySelectorAll("[data-today-line]")) line.hidden = false;
  }

  /* Dates in the reader's own time zone and language. */
  for (const time of document.querySelectorAll("time[data-local]")) {
    const when = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    const options = time.dataset.local === "date" ? { dateStyle: "medium" }
      : time.dataset.local === "time" ? { timeStyle: "short" }
      : { dateStyle: "medium", timeStyle: "short" };
    time.textContent = when.toLocaleString(undefined, options);
  }

  /* Live password guidance; the server decides on submit. */
  for (const input of document.querySelectorAll("input[data-password-advice]")) {
    const output = document.getElementById(input.dataset.passwordAdvice);
    const emailField = input.dataset.emailField
      ? document.getElementById(input.dataset.emailField) : null;
    const initial = output.textContent;
    let timer = 0;
    const show = (state, text) => {
      output.dataset.state = state;
      output.textContent = text;
    };
    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      const value = input.value;
      if (!value) {
        delete output.dataset.state;
        output.textContent = initial;
        return;
      }
      const length = [...value].length;
      if (length < 8) {
        show("bad", `Use at least 8 characters (${length} so far).`);
        return;
      }
      timer = window.setTimeout(async () => {
        try {
          const response = await fetch("/password-advice", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ password: value, email: emailField ? emailField.value : null }),
            credentials: "same-origin",
          });
          const advice = await response.json();
          if (input.value !== value) return;
          if (advice.problem) show("bad", advice.problem);
          else if (!advice.recommended_length_met) {
            show("ok", `Good. ${advice.recommended_length} or more characters would be even stronger.`);
          } else show("good", "Strong: long, and not a common password.");
        } catch {
          show("ok", `${length} characters.`);
        }
      }, 250);
    });
  }
})();
