// Site-wide behaviour. No inline scripts anywhere: the CSP forbids them.
(function () {
  // Tell the server the analyst's time zone so it renders local times (UTC stays in the title).
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("tz=" + tz) === -1) {
      // IANA names ("Europe/Berlin") are cookie-safe as they are; the server reads the raw value.
      document.cookie = "tz=" + tz + "; path=/; SameSite=Lax; max-age=31536000";
    }
  } catch (e) { /* older browsers: stay on UTC */ }
})();
