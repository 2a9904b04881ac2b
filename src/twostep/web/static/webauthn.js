/* twostep pages: security keys and passkeys (WebAuthn). No build step, no external assets.

   A form marked data-webauthn="get" | "create" | "passkey" is hidden until this script sees
   that the browser speaks WebAuthn. Its button runs the ceremony with the options the page
   put in data-options (or, for "passkey", fetched from the API), writes the browser's answer
   as JSON into the form's hidden "credential" field, and submits the form. */
(() => {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials) return;
  /* An IP address can be no relying party id: keys cannot work here, so offer none. */
  if (/^[\d.]+$|^\[/.test(window.location.hostname)) return;

  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };

  const toText = (buffer) => {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const withIds = (list) => (list || []).map((c) => ({ ...c, id: toBytes(c.id) }));

  const requestOptions = (options) => ({
    ...options,
    challenge: toBytes(options.challenge),
    allowCredentials: withIds(options.allowCredentials),
  });

  const creationOptions = (options) => ({
    ...options,
    challenge: toBytes(options.challenge),
    user: { ...options.user, id: toBytes(options.user.id) },
    excludeCredentials: withIds(options.excludeCredentials),
  });

  /* PublicKeyCredential.toJSON() by hand: not every browser has it yet. */
  const asJSON = (credential) => {
    const r = credential.response;
    const response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    }
    if (r.authenticatorData) response.authenticatorData = toText(r.authenticatorData);
    if (r.signature) response.signature = toText(r.signature);
    if (r.userHandle) response.userHandle = toText(r.userHandle);
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  };

  const MESSAGES = {
    NotAllowedError: "The security key request was cancelled or timed out. Try again.",
    InvalidStateError: "This security key is registered already.",
    SecurityError: "Security keys only work on this site's own address (https).",
  };

  const fail = (form, error) => {
    const box = form.querySelector("[data-webauthn-error]");
    if (box) {
      box.textContent = MESSAGES[error && error.name] || "The security key did not answer. Try again.";
      box.hidden = false;
    }
    for (const button of form.querySelectorAll("button")) button.disabled = false;
  };

  const passkeyOptions = async () => {
    const reply = await fetch("/api/v1/auth/passkey/options", {
      method: "POST",
      credentials: "omit",
      headers: { Accept: "application/json" },
    });
    if (!reply.ok) throw new Error("options");
    return reply.json();
  };

  const run = async (form) => {
    const kind = form.dataset.webauthn;
    let credential;
    if (kind === "create") {
      const options = JSON.parse(form.dataset.options);
      credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
    } else if (kind === "passkey") {
      const started = await passkeyOptions();
      form.elements.challenge_id.value = started.challenge_id;
      credential = await navigator.credentials.get({ publicKey: requestOptions(started.options) });
    } else {
      const options = JSON.parse(form.dataset.options);
      credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
    }
    form.elements.credential.value = JSON.stringify(asJSON(credential));
    form.submit();
  };

  /* Conditional UI: the browser offers this site's passkeys in the email field's autofill.
     A pending conditional request is aborted before any button starts its own ceremony. */
  let conditional = null;
  const offerInAutofill = async (form) => {
    const available = PublicKeyCredential.isConditionalMediationAvailable;
    if (!available || !(await available.call(PublicKeyCredential))) return;
    conditional = new AbortController();
    const started = await passkeyOptions();
    const credential = await navigator.credentials.get({
      publicKey: requestOptions(started.options),
      mediation: "conditional",
      signal: conditional.signal,
    });
    form.elements.challenge_id.value = started.challenge_id;
    form.elements.credential.value = JSON.stringify(asJSON(credential));
    form.submit();
  };

  for (const form of document.querySelectorAll("form[data-webauthn]")) {
    form.hidden = false;
    const button = form.querySelector("button[data-webauthn-start]");
    if (!button) continue;
    button.addEventListener("click", () => {
      if (!form.reportValidity()) return;
      button.disabled = true;
      if (conditional) conditional.abort();
      run(form).catch((error) => fail(form, error));
    });
    if (form.dataset.webauthn === "passkey" && form.hasAttribute("data-autofill")) {
      offerInAutofill(form).catch(() => {}); /* aborted, or no passkey chosen: nothing to say */
    }
  }
})();
