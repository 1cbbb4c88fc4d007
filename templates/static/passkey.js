// Passkey buttons: runs the WebAuthn ceremonies against the server's JSON endpoints.
// Every button is `hidden` in the HTML and shown here only when the browser has WebAuthn, so
// pages work without this script for everything else. A button carries what it needs:
//   data-passkey="register" | "sign-in" | "second-factor"
//   data-csrf      the page's CSRF token, sent as X-CSRF-Token
//   data-return-to where to go after signing in (sign-in, second-factor)
//   data-failed    the message shown when the browser's dialog fails or is cancelled
// and reports errors into the element with id `passkey-error`.
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  var endpoints = {
    register: ["/account/passkeys/options", "/account/passkeys/register"],
    "sign-in": ["/login/passkey/options", "/login/passkey"],
    "second-factor": ["/login/second-factor/passkey/options", "/login/second-factor/passkey"]
  };

  function toBuffer(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var err = new Error(data.message || "HTTP " + res.status);
          err.fromServer = true;
          throw err;
        }
        return data;
      });
    });
  }

  function creationOptions(options) {
    var pk = options.publicKey;
    pk.challenge = toBuffer(pk.challenge);
    pk.user.id = toBuffer(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return { publicKey: pk };
  }

  function requestOptions(options) {
    var pk = options.publicKey;
    pk.challenge = toBuffer(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return { publicKey: pk };
  }

  function registration(cred) {
    var response = {
      attestationObject: toBase64url(cred.response.attestationObject),
      clientDataJSON: toBase64url(cred.response.clientDataJSON)
    };
    if (cred.response.getTransports) {
      response.transports = cred.response.getTransports();
    }
    return { id: cred.id, rawId: toBase64url(cred.rawId), type: cred.type, response: response, extensions: {} };
  }

  function assertion(cred) {
    return {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toBase64url(cred.response.authenticatorData),
        clientDataJSON: toBase64url(cred.response.clientDataJSON),
        signature: toBase64url(cred.response.signature),
        userHandle: cred.response.userHandle ? toBase64url(cred.response.userHandle) : null
      },
      extensions: {}
    };
  }

  function showError(button, err) {
    var box = document.getElementById("passkey-error");
    var message = err && err.fromServer ? err.message : button.getAttribute("data-failed");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  function run(button) {
    var kind = button.getAttribute("data-passkey");
    var urls = endpoints[kind];
    var csrf = button.getAttribute("data-csrf") || "";
    var returnTo = button.getAttribute("data-return-to") || "";
    var box = document.getElementById("passkey-error");
    if (box) {
      box.hidden = true;
    }
    button.disabled = true;
    post(urls[0], csrf)
      .then(function (options) {
        if (kind === "register") {
          return navigator.credentials.create(creationOptions(options)).then(function (cred) {
            var name = document.getElementById("passkey-name");
            return post(urls[1], csrf, { name: name ? name.value : "", credential: registration(cred) });
          });
        }
        return navigator.credentials.get(requestOptions(options)).then(function (cred) {
          return post(urls[1], csrf, { return_to: returnTo, credential: assertion(cred) });
        });
      })
      .then(function (done) {
        window.location.assign(done.redirect || "/account");
      })
      .catch(function (err) {
        button.disabled = false;
        showError(button, err);
      });
  }

  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      run(button);
    });
  });
  document.querySelectorAll("[data-passkey-only]").forEach(function (el) {
    el.hidden = false;
  });
})();
