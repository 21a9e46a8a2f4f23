// Embedded Signup on /numbers/connect/: open Meta's signup (its JS SDK in production, the
// sandbox's stand-in popup in sandbox mode), wait for BOTH the login `code` and the
// WA_EMBEDDED_SIGNUP FINISH message, then post them to the server at once (the code lives
// seconds). Meta: https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-tech-provider
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("signup-config").textContent);
  var form = document.getElementById("signup-form");
  var status = document.getElementById("signup-status");
  var result = { code: null, finish: null };

  function say(text) { status.textContent = text; }

  function submitWhenComplete() {
    if (!result.code || !result.finish) return;
    form.elements.code.value = result.code;
    form.elements.waba_id.value = result.finish.waba_id || "";
    form.elements.phone_number_id.value = result.finish.phone_number_id || "";
    form.elements.business_id.value = result.finish.business_id || "";
    say("Signup finished: connecting the number…");
    form.submit();
  }

  function fromMeta(origin) {
    if (config.sandbox) return origin === config.meta_origin;
    return /^https:\/\/([a-z0-9-]+\.)*facebook\.com$/.test(origin);
  }

  window.addEventListener("message", function (event) {
    if (!fromMeta(event.origin)) return;
    var data;
    try { data = typeof event.data === "string" ? JSON.parse(event.data) : event.data; }
    catch (e) { return; }
    if (!data) return;
    if (data.type === "WA_EMBEDDED_SIGNUP") {
      if (data.event === "FINISH" || data.event === "FINISH_ONLY_WABA") {
        result.finish = data.data || {};
        submitWhenComplete();
      } else if (data.event === "CANCEL") {
        var step = (data.data && data.data.current_step) || "";
        say("The signup was closed before the end" + (step ? " (at " + step + ")" : "") +
            ". Open it again to connect a number.");
      } else if (data.event === "ERROR") {
        say("Meta reported an error: " + ((data.data && data.data.error_message) || "unknown") + ".");
      }
    } else if (data.type === "WA_EMBEDDED_SIGNUP_LOGIN" && data.authResponse) {
      result.code = data.authResponse.code;  // the sandbox's stand-in for FB.login's callback
      submitWhenComplete();
    }
  });

  function loginWithMeta() {
    window.FB.login(function (response) {
      if (response.authResponse && response.authResponse.code) {
        result.code = response.authResponse.code;
        submitWhenComplete();
      } else {
        say("Facebook sign-in did not finish.");
      }
    }, {
      config_id: config.config_id,
      response_type: "code",
      override_default_response_type: true,
      extras: { setup: {}, sessionInfoVersion: "3" }
    });
  }

  document.getElementById("signup-start").addEventListener("click", function () {
    result = { code: null, finish: null };
    if (config.sandbox) {
      var url = config.popup_url + "?origin=" + encodeURIComponent(window.location.origin);
      var popup = window.open(url, "wa-embedded-signup", "width=620,height=720");
      say(popup ? "Finish the signup in the window that opened." :
          "Your browser blocked the window: allow pop-ups for this site and try again.");
      return;
    }
    if (window.FB) { loginWithMeta(); return; }
    window.fbAsyncInit = function () {
      window.FB.init({ appId: config.app_id, autoLogAppEvents: true, xfbml: false,
                       version: config.graph_version });
      loginWithMeta();
    };
    var sdk = document.createElement("script");  // Meta's SDK can only come from Meta
    sdk.src = "https://connect.facebook.net/en_US/sdk.js";
    sdk.async = true;
    sdk.crossOrigin = "anonymous";
    document.body.appendChild(sdk);
    say("Opening Facebook…");
  });
}());
