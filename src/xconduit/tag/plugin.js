/*! xconduit X pixel as an @segment/analytics-next destination plugin.
 * Needs the core of tag.js loaded first (the gateway's plugin file is tag.js followed by this one).
 *
 *   analytics.register(xconduitPlugin({syntax: 'event', universal_pixel_id: 'oka17', events: {...}}))
 *   analytics.register(xconduitPlugin({collector: 'https://gw.example', key: 'wk_browser_1'}))
 *   (add `debug: true` to log every pixel call to the console)
 *
 * The pixel work runs as a destination; the conversion id and click id are put on the event by an
 * enrichment step registered at load, because destinations run after analytics.js has already
 * serialised the event for its own (collector-bound) destination.
 *
 * analytics.js does not wait for a destination's load before sending it events, and the settings
 * may still be on their way from the gateway: the enrichment is registered at once and both steps
 * wait for the settings, so no event leaves without its ids and no pixel call is lost. */
(function (w) {
  'use strict';

  function xconduitPlugin(options) {
    const core = w.xconduit && w.xconduit.core;
    if (!core) throw new Error('xconduit: load tag.js before plugin.js');
    options = options && typeof options === 'object' ? options : {};
    let s = null;
    let traits = {};
    let settled = null; // resolves once the settings are known (or known to be missing)
    const whenSettled = (fn) => (ctx) => (settled ? settled.then(() => fn(ctx)) : fn(ctx));

    const enrich = whenSettled((ctx) => {
      if (s) core.stamp(s, ctx.event);
      return ctx;
    });
    const enrichment = {
      name: 'xconduit click and conversion ids',
      type: 'enrichment',
      version: core.version,
      isLoaded: () => true,
      load: () => Promise.resolve(),
      page: enrich,
      track: enrich,
      identify: enrich,
    };

    const pixel = whenSettled((ctx) => {
      if (s && core.allowed(s, (ctx.event.context || {}).consent)) {
        core.run(s, core.plan(s, ctx.event, traits), options.debug === true);
      }
      return ctx;
    });

    return {
      name: 'xconduit X pixel',
      type: 'destination',
      version: core.version,
      isLoaded: () => s !== null,
      load(ctx, analytics) {
        const tag = options.tag || (options.collector && options.key ? null : options);
        const got = tag ? Promise.resolve(tag) : core.fetchSettings(options.collector, options.key);
        settled = got.then((t) => {
          s = core.settings(t);
        });
        const registered = analytics && analytics.register ? analytics.register(enrichment) : null;
        return Promise.all([settled, registered]);
      },
      page: pixel,
      track: pixel,
      identify(ctx) {
        // Kept in memory only (may hold an email or phone for send_pii_to_pixel).
        traits = Object.assign({}, traits, ctx.event.traits);
        return ctx;
      },
    };
  }

  w.xconduitPlugin = xconduitPlugin;
  if (typeof module === 'object' && module && module.exports) module.exports = xconduitPlugin;
})(window);
