/*! xconduit website tag: X pixel (event and legacy syntax), click id, one conversion id on both legs.
 * Rules: docs/reference/mapping.md §4. No build step; served as is by the gateway at GET /tag.js. */
(function (w, d) {
  'use strict';
  const VERSION = '0.1.0';
  const queued = w.xconduit;
  if (queued && queued.core) return; // loaded twice: the first copy keeps running

  const UWT = 'https://static.ads-twitter.com/uwt.js';
  const ADSCT = 'https://analytics.twitter.com/i/adsct';
  const CLICK_COOKIE = '_twclid';
  const CLICK_MAX_AGE = 7776000; // 90 days, in seconds
  const own = (o, k) => o != null && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, k);
  const obj = (v) => v && typeof v === 'object' && !Array.isArray(v);
  const norm = (name) => (typeof name === 'string' ? name.trim().toLowerCase() : '');

  // Prototype-free maps: an event named "toString" or "constructor" never finds a mapping.
  function table(pairs) {
    const out = Object.create(null);
    for (const [k, v] of pairs) out[k] = v;
    return out;
  }
  function normMap(src, each) {
    const out = Object.create(null);
    if (src && typeof src === 'object') {
      for (const k of Object.keys(src)) out[norm(k)] = each(src[k]);
    }
    return out;
  }

  // First own property that holds a value (snake_case names are listed before camelCase ones).
  function pick(obj, keys) {
    for (const k of keys) {
      if (own(obj, k) && obj[k] !== undefined && obj[k] !== null && obj[k] !== '') return obj[k];
    }
    return undefined;
  }
  // Numbers as the server reads them: a JSON number or a plain decimal string ("1,234.50" and
  // "$25" are not numbers; the server rejects such an event as invalid).
  const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  function num(v) {
    if (typeof v === 'string') v = NUMBER.test(v.trim()) ? Number(v.trim()) : NaN;
    return typeof v === 'number' && isFinite(v) ? v : undefined;
  }
  // A count > 0: an integer, or a string of digits (else the server counts the product once).
  function count(v) {
    if (typeof v === 'string' && /^\d+$/.test(v.trim())) v = Number(v);
    return Number.isInteger(v) && v > 0 ? v : undefined;
  }
  // An amount X takes (mapping.md 3): not negative, below 1e15; else undefined, as the server
  // rejects the event.
  const amount = (n) => (n !== undefined && n >= 0 && n < 1e15 ? n : undefined);
  // Amounts keep their digits, as the server sends them (never rounded to cents: 0.001 is not 0).
  // A string (legacy Purchase): two places at least ("25.00"), every further digit kept.
  function money(n) {
    const fixed = n.toFixed(2);
    if (Number(fixed) === n) return fixed;
    const text = String(n);
    return text.includes('e') ? n.toFixed(20).replace(/0+$/, '') : text;
  }
  // A sum of prices × quantities without binary noise (0.1 × 3 is 0.30000000000000004):
  // 15 significant digits, which a double always holds exactly.
  const total = (n) => Number(n.toPrecision(15));

  // ---- personal data in ids (the server's xconduit.normalize.redact) ----
  // SHA-256, synchronous (crypto.subtle is async and absent on plain http pages).
  const primes = [];
  for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p)) primes.push(n);
  const frac = (x) => ((x - Math.floor(x)) * 4294967296) >>> 0;
  const K = primes.map((p) => frac(Math.cbrt(p)));
  const H0 = primes.slice(0, 8).map((p) => frac(Math.sqrt(p)));
  function sha256(text) {
    const bytes = new TextEncoder().encode(text);
    const len = bytes.length;
    const words = new Uint32Array((((len + 8) >> 6) + 1) << 4);
    for (let i = 0; i < len; i++) words[i >> 2] |= bytes[i] << (24 - (i & 3) * 8);
    words[len >> 2] |= 0x80 << (24 - (len & 3) * 8);
    words[words.length - 1] = len * 8;
    words[words.length - 2] = Math.floor(len / 536870912);
    const rotr = (x, n) => (x >>> n) | (x << (32 - n));
    const h = H0.slice();
    const m = new Uint32Array(64);
    for (let j = 0; j < words.length; j += 16) {
      for (let i = 0; i < 64; i++) {
        if (i < 16) { m[i] = words[j + i]; continue; }
        const a = m[i - 15], b = m[i - 2];
        m[i] = (rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3)) + (rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10)) + m[i - 7] + m[i - 16];
      }
      let [a, b, c, d, e, f, g, k] = h;
      for (let i = 0; i < 64; i++) {
        const t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + m[i]) | 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      [a, b, c, d, e, f, g, k].forEach((v, i) => { h[i] = (h[i] + v) | 0; });
    }
    return h.map((x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
  }
  // Personal data in ids: the server's has_personal_data (docs/explanation/hashing.md).
  const EMAIL_IN = /[\p{L}\p{N}_.%+-]+@[\p{L}\p{N}_-]+(\.[\p{L}\p{N}_-]+)+/u;
  const RUN = /\+\d[\d ().\-/]{5,}\d|\d+[ ().\-/][\d ().\-/]{4,}\d/g;
  const UUID = /^[\da-f]{8}(-[\da-f]{4}){3}-[\da-f]{12}$/i;
  const DATE_IN = /\d{4}[-./]\d\d[-./]\d\d|\d\d[-./]\d\d[-./]\d{4}/;
  // A number touching a letter, digit or `_` (one code point: two units outside the BMP) is the word's.
  const glued = (c) => /^[\p{L}\p{N}_]$/u.test(c);
  function phoneShaped(run) {
    const g = run.match(/\d+/g) || [];
    const n = g.length;
    const digits = g.join('').length;
    if (digits < 7 || digits > 15) return false;
    if (run[0] === '+') return true;
    return ((n > 2 && g[n - 3].length === 3 && g[n - 2].length === 3 && g[n - 1].length === 4) ||
      (g[0][0] === '0' && digits > 8 && n > 1 && g.every((x) => x.length > 1)) ||
      /\(\d{1,5}\)/.test(run)) && !DATE_IN.test(run);
  }
  function hasPhone(t) {
    for (const m of t.matchAll(RUN)) {
      let start = m.index;
      let run = m[0];
      const head = t.slice(Math.max(0, start - 2), start);
      const before = /[\udc00-\udfff]$/.test(head) ? head : head.slice(-1);
      if (before === '+' || glued(before)) {
        const lead = run.match(/^\+?\d+[ ().\-/]+/);
        if (!lead) continue;
        start += lead[0].length;
        run = run.slice(lead[0].length);
      }
      const end = m.index + m[0].length;
      if (end < t.length && glued(String.fromCodePoint(t.codePointAt(end)))) {
        const trail = run.match(/[ ().\-/]+\d+$/);
        if (!trail) continue;
        run = run.slice(0, trail.index);
      }
      if (t[start - 1] === '(' && run[0] !== '+') run = '(' + run;
      if (phoneShaped(run)) return true;
    }
    return false;
  }
  const personal = (t) => (t.includes('@') ? EMAIL_IN.test(t) || hasPhone(t) : !(t.length === 36 && UUID.test(t)) && hasPhone(t));
  // An id sent in the clear that contains an email address or a phone number: its SHA-256 hex.
  const privateId = (t) => (personal(t) ? sha256(t) : t);
  // Free text (product names, categories): the server's `redact`, emails → [email], phones → [phone].
  const EMAIL_ALL = new RegExp(EMAIL_IN.source, 'gu');
  const PHONE_FREE = /(?<![\p{L}\p{N}_+])\+?\(?\d[\d ().\-/]{5,}\d(?![\p{L}\p{N}_])/gu;
  function phoneMark(m) {
    const digits = m.replace(/\D/g, '').length;
    return digits >= 7 && digits <= 15 && !/^\d{4}-\d\d-\d\d$/.test(m) ? '[phone]' : m;
  }
  function redact(v) {
    if (typeof v !== 'string') return v;
    return (v.includes('@') ? v.replace(EMAIL_ALL, '[email]') : v).replace(PHONE_FREE, phoneMark);
  }

  // What the current pixel gets with send_pii_to_pixel (the server's normalisation).
  // An email address as the server's `is_email_address` reads it (docs/explanation/hashing.md):
  // dot-atom local part (≤ 64), one `@`, two or more labels (≤ 63, no hyphen first or last, the
  // last not all digits), ≤ 254 characters, no space or control character.
  const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-\\u00a1-\\u{10ffff}";
  const EMAIL = new RegExp(`^[${ATEXT}]+(\\.[${ATEXT}]+)*@[A-Za-z0-9\\-\\u00a1-\\u{10ffff}]+(\\.[A-Za-z0-9\\-\\u00a1-\\u{10ffff}]+)+$`, 'u');
  const chars = (t) => [...t].length; // code points, as Python counts
  function isEmail(t) {
    if (chars(t) > 254 || /[\p{C}\p{Z}]/u.test(t) || !EMAIL.test(t)) return false;
    const at = t.indexOf('@');
    const domain = t.slice(at + 1);
    const labels = domain.split('.');
    return chars(t.slice(0, at)) <= 64 && !/^-|-$|-\.|\.-/.test(domain) &&
      !/^\p{Nd}+$/u.test(labels[labels.length - 1]) && labels.every((l) => chars(l) <= 63);
  }
  function emailOf(v) {
    const t = typeof v === 'string' ? v.trim() : '';
    return isEmail(t) ? t.toLowerCase() : undefined;
  }
  // E.164 for the destination's phone region: `+` and digits kept; else the region's national
  // prefix (a trunk `0`, or US `1`) dropped and its country code put in front.
  function phoneOf(v, s) {
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) v = String(v);
    if (typeof v !== 'string' || v.length > 64) return undefined;
    const t = v.trim();
    let d = t.replace(/[\s().\-/]/g, '');
    const plus = d.startsWith('+');
    if (plus) d = d.slice(1);
    if (!/^[0-9]+$/.test(d)) return undefined;
    if (!plus) {
      if (s.phonePrefix && d.startsWith(s.phonePrefix)) d = d.slice(s.phonePrefix.length);
      d = s.phoneCode + d;
    }
    return d.length >= 8 && d.length <= 15 && d[0] !== '0' ? `+${d}` : undefined;
  }
  function compact(o) {
    for (const k of Object.keys(o)) if (o[k] === undefined || o[k] === '') delete o[k];
    return o;
  }

  // ---- settings (the JSON of GET /v1/tag-config, or init({tag})) ----
  // docs/reference/mapping.md §4: a bare id `e` is `tw-<pixel>-e`, as the server's public_tag_settings writes it.
  const eventId = (id, pixel) => (id && pixel && !id.startsWith('tw-') ? `tw-${pixel}-${id}` : id);
  function settings(tag) {
    tag = tag && typeof tag === 'object' ? tag : {};
    const ids = (v) => (Array.isArray(v) ? v : v ? [v] : []).map(String).filter(Boolean);
    const pixel = String(tag.universal_pixel_id || '').trim();
    return {
      syntax: tag.syntax === 'legacy' ? 'legacy' : 'event',
      pixel,
      pagePixel: String(tag.page_pixel || ''),
      events: normMap(tag.events, (v) => eventId(String(v || '').trim(), pixel)),
      single: normMap(tag.single_event_tags, ids),
      sku: tag.product_identifier === 'sku',
      pii: tag.send_pii_to_pixel === true,
      category: tag.consent_category === undefined ? 'Advertising' : String(tag.consent_category || ''),
      prePurchaseValue: tag.value_on_pre_purchase === true,
      missing: tag.missing_consent === 'deny' ? 'deny' : 'allow',
      currency: String(tag.default_currency || 'USD').toUpperCase(),
      phoneCode: String(tag.phone_country_code || '1'),
      phonePrefix: String(tag.phone_national_prefix ?? '1'),
    };
  }

  // docs/reference/mapping.md §6: with preferences, the category must be true; without, `missing_consent` decides.
  // An empty category turns the check off. As the server: the exact key, else (absent or null)
  // the first key equal to it case-insensitively.
  function allowed(s, consent) {
    if (!s.category) return true;
    const prefs = obj(consent) ? consent.categoryPreferences : undefined;
    if (!obj(prefs)) return s.missing === 'allow';
    let v = own(prefs, s.category) ? prefs[s.category] : null;
    if (v == null) {
      const low = s.category.toLowerCase();
      const k = Object.keys(prefs).find((key) => key.toLowerCase() === low);
      v = k === undefined ? null : prefs[k];
    }
    return v === true;
  }

  // ---- products ----
  const ECOMMERCE = table([
    ['order completed', 'Purchase'],
    ['product viewed', 'ViewContent'],
    ['product added', 'AddToCart'],
    ['products searched', 'Search'],
    ['product added to wishlist', 'AddToWishlist'],
    ['checkout started', 'InitiateCheckout'],
    ['payment info entered', 'AddPaymentInfo'],
  ]);
  const SUMMED = table([['order completed', true], ['checkout started', true]]);

  const productsOf = (p) => (own(p, 'products') && Array.isArray(p.products) ? p.products : [])
    .filter((x) => x && typeof x === 'object');
  function productId(item, s) {
    const id = s.sku ? pick(item, ['sku']) : pick(item, ['product_id', 'productId', 'id']);
    return id === undefined ? undefined : privateId(String(id).trim()); // as the server sends it
  }
  const groupId = (id) => (id === undefined ? undefined : privateId(String(id).trim()));
  const nameOf = (item) => redact(pick(item, ['name']));
  const categoryOf = (item) => redact(pick(item, ['category']));
  const sumQuantity = (list) => list.reduce((n, item) => n + (num(pick(item, ['quantity'])) || 0), 0);
  const present = (list) => list.filter((v) => v !== undefined).map(String);

  // Section 3 content items: the products, or the event's own product fields.
  function contents(p, s) {
    let list = productsOf(p);
    if (!list.length && (pick(p, ['product_id', 'productId', 'sku']) !== undefined)) list = [p];
    return list.map((item) => {
      const price = amount(num(pick(item, ['price'])));
      const qty = count(pick(item, ['quantity']));
      return compact({
        content_id: productId(item, s),
        content_name: nameOf(item),
        content_type: categoryOf(item),
        content_price: price, // a number, as X's example
        num_items: qty,
        content_group_id: groupId(pick(item, ['product_group_id', 'productGroupId', 'group_id', 'groupId'])),
      });
    }).filter((item) => Object.keys(item).length);
  }

  // docs/reference/mapping.md §3. The first field present decides: one that is not a number gives no value (the
  // server rejects the event), never a fallback to the next field.
  function value(p) {
    const v = pick(p, ['value', 'revenue']);
    if (v !== undefined) return amount(num(v));
    const priced = productsOf(p).filter((x) => pick(x, ['price']) !== undefined);
    const list = priced.length ? priced : pick(p, ['price']) === undefined ? [] : [p];
    if (!list.length) return undefined;
    const of = (x) => (amount(num(pick(x, ['price']))) ?? NaN) * (count(pick(x, ['quantity'])) || 1);
    const sum = list.reduce((n, x) => n + of(x), 0);
    return isFinite(sum) ? total(sum) : undefined; // NaN: a price that is not a number
  }

  // ---- what the pixel does for one event: a list of {twq: [...]} or {img: url} ----
  function adsct(id, amount, quantity) {
    const q = (v) => encodeURIComponent(String(v));
    return { img: `${ADSCT}?txn_id=${q(id)}&p_id=Twitter&tw_sale_amount=${q(amount)}&tw_order_quantity=${q(quantity)}` };
  }

  function legacyParams(tag, p, s) {
    const list = productsOf(p);
    const one = [productId(p, s)].filter((v) => v !== undefined);
    let out;
    if (tag === 'Purchase') {
      // value, revenue, else Σ price × quantity, as the server; sent (with its currency) only when not zero
      const v = value(p);
      const id = pick(p, ['order_id', 'orderId']);
      out = {
        value: v ? money(v) : undefined,
        currency: v ? String(pick(p, ['currency']) || s.currency).toUpperCase() : undefined,
        content_ids: present(list.map((x) => productId(x, s))).sort(),
        content_type: 'product',
        content_name: present(list.map(nameOf)).sort().join(', '),
        num_items: String(sumQuantity(list)),
        order_id: id === undefined ? undefined : privateId(String(id).trim()),
      };
    } else if (tag === 'ViewContent') {
      out = { content_ids: one, content_type: 'product', content_name: nameOf(p), content_category: categoryOf(p) };
    } else if (tag === 'AddToCart') {
      out = { content_ids: one, content_type: 'product', content_name: nameOf(p) };
    } else if (tag === 'AddToWishlist') {
      out = { content_name: nameOf(p), content_category: categoryOf(p), content_ids: one };
    } else if (tag === 'InitiateCheckout') {
      out = {
        content_ids: present(list.map((x) => productId(x, s))).sort(),
        content_name: present(list.map(nameOf)).sort().join(', '),
        content_category: present(list.map(categoryOf)).join(', '),
      };
    } else {
      out = {}; // Search, AddPaymentInfo
    }
    const status = pick(p, ['status']);
    if (status !== undefined) out.status = status;
    return compact(out);
  }

  function eventParams(name, p, s, conversionId, traits) {
    const out = {};
    if (!ECOMMERCE[name] || name === 'order completed' || s.prePurchaseValue) {
      const v = value(p);
      if (v !== undefined) {
        out.value = v;
        out.currency = String(pick(p, ['currency']) || s.currency).toUpperCase();
      }
    }
    const items = contents(p, s);
    if (items.length) out.contents = items;
    out.conversion_id = conversionId;
    if (s.pii) {
      out.email_address = emailOf(pick(p, ['email']) || pick(traits, ['email']));
      out.phone_number = phoneOf(pick(p, ['phone']) || pick(traits, ['phone']), s);
    }
    return compact(out);
  }

  // `event`: a normalised Segment event (type, event/name, properties, context, messageId).
  function plan(s, event, traits) {
    const acts = [];
    const p = event.properties && typeof event.properties === 'object' ? event.properties : {};
    if (event.type === 'page') {
      if (s.pixel) acts.push({ twq: s.syntax === 'legacy' ? ['track', 'PageView'] : ['config', s.pixel] });
      if (s.pagePixel) acts.push(adsct(s.pagePixel, 0, 0));
      return acts;
    }
    if (event.type !== 'track') return acts;
    const name = norm(event.event);
    const quantity = SUMMED[name] ? sumQuantity(productsOf(p)) : num(pick(p, ['quantity'])) || 0;
    for (const id of s.single[name] || []) acts.push(adsct(id, num(pick(p, ['revenue'])) || 0, quantity));
    if (s.syntax === 'legacy') {
      const tag = ECOMMERCE[name];
      if (s.pixel && tag) acts.push({ twq: ['track', tag, legacyParams(tag, p, s)] });
    } else if (s.events[name]) {
      const traitsAll = Object.assign({}, traits, (event.context || {}).traits);
      acts.push({ twq: ['event', s.events[name], eventParams(name, p, s, conversionIdOf(event), traitsAll)] });
    }
    return acts;
  }

  // Debug output never shows the email or phone the pixel is given.
  function masked(a) {
    if (!obj(a)) return a;
    const out = Object.assign({}, a);
    for (const k of ['email_address', 'phone_number']) if (own(out, k)) out[k] = '***';
    return out;
  }

  const inited = Object.create(null);
  function run(s, acts, debug) {
    for (const act of acts) {
      if (debug) {
        console.info('[xconduit] X pixel:', act.img ? ['adsct', act.img] : act.twq.map(masked));
      }
      if (act.img) {
        // Not `new Image()`: the page's image list would swallow a repeated tag (same URL twice
        // in one page), and a tag fired just before navigating away would be cancelled.
        if (w.fetch) {
          fetch(act.img, { mode: 'no-cors', credentials: 'include', cache: 'no-store', keepalive: true })
            .catch(() => {});
        } else {
          new Image(1, 1).src = act.img;
        }
        continue;
      }
      if (!w.twq) {
        // X's base-code stub: queue calls until uwt.js replaces `exe`.
        const q = (w.twq = function () { q.exe ? q.exe.apply(q, arguments) : q.queue.push(arguments); });
        q.version = s.syntax === 'legacy' ? '1' : '1.1';
        q.queue = [];
        const el = d.createElement('script');
        el.async = true;
        el.src = UWT;
        (d.head || d.documentElement).appendChild(el);
      }
      if (s.syntax === 'legacy' && s.pixel && !inited[s.pixel]) {
        inited[s.pixel] = true;
        w.twq('init', s.pixel);
      }
      w.twq.apply(w, act.twq);
    }
  }

  // ---- click id (docs/reference/mapping.md §4.4) ----
  const landingClickId = (() => {
    try { return (new URL(w.location.href).searchParams.get('twclid') || '').trim(); } catch (e) { return ''; }
  })();
  function cookieClickId() {
    const m = d.cookie.match(/(?:^|;\s*)_twclid=([^;]*)/);
    if (!m) return '';
    let raw = m[1];
    try { raw = decodeURIComponent(raw); } catch (e) { /* keep raw */ }
    try {
      const parsed = JSON.parse(raw);
      if (parsed && typeof parsed === 'object') return String(parsed.twclid || '');
    } catch (e) { /* the bare id */ }
    return raw;
  }
  // Only called with advertising consent: that is when the cookie may be written.
  function clickId() {
    const stored = cookieClickId();
    if (landingClickId && landingClickId !== stored) {
      const body = encodeURIComponent(JSON.stringify({ twclid: landingClickId, timestamp: Date.now() }));
      d.cookie = `${CLICK_COOKIE}=${body}; Max-Age=${CLICK_MAX_AGE}; Path=/; SameSite=Lax` +
        (w.location.protocol === 'https:' ? '; Secure' : '');
    }
    return landingClickId || stored;
  }

  function conversionIdOf(event) {
    const p = event.properties || {};
    const id = pick(p, ['conversion_id', 'conversionId']) ?? pick(p, ['order_id', 'orderId']) ??
      event.messageId;
    return id === undefined ? undefined : privateId(String(id).trim()); // as the server reads it
  }

  // The collector-bound half of docs/reference/mapping.md §4.4: one conversion id and the click id on the event.
  function stamp(s, event) {
    event.context = event.context || {};
    const ok = allowed(s, event.context.consent);
    if (ok && !event.context.twclid) {
      const tw = clickId();
      if (tw) event.context.twclid = tw;
    }
    if (event.type === 'track') {
      event.properties = event.properties || {};
      const id = conversionIdOf(event);
      if (id !== undefined) event.properties.conversion_id = id;
    }
    return ok;
  }

  function uuid() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // A failed fetch would leave the pixel off for the page's life: retry network errors and 5xx
  // twice (after ~0.7 s, then 1 s); a 4xx (unknown key) is final.
  function fetchSettings(collector, key, tries = 3) {
    return fetch(`${collector}/v1/tag-config?key=${encodeURIComponent(key)}`, { credentials: 'omit' })
      .then((r) => (r.ok ? r.json() : r.status >= 500 ? Promise.reject(r.status) : null))
      .catch(() => (tries > 1
        ? new Promise((ok) => setTimeout(ok, 2000 / tries)).then(() => fetchSettings(collector, key, tries - 1))
        : null));
  }

  const core = { version: VERSION, settings, allowed, plan, run, stamp, conversionIdOf, fetchSettings, sha256, privateId, redact, phoneOf };

  // ---- the standalone tag: window.xconduit ----
  const script = d.currentScript;
  const scriptUrl = (() => { try { return new URL(script.src); } catch (e) { return null; } })();
  const store = {
    get(k) { try { return w.localStorage.getItem(k); } catch (e) { return null; } },
    set(k, v) { try { w.localStorage.setItem(k, v); } catch (e) { /* private mode */ } },
  };
  let anonymousId = store.get('xconduit.anonymousId');
  if (!anonymousId) { anonymousId = uuid(); store.set('xconduit.anonymousId', anonymousId); }
  const state = { collector: '', key: '', s: null, consent: undefined, pending: [], traits: {}, debug: false };

  function pageContext() {
    const l = w.location;
    return { path: l.pathname, referrer: d.referrer, search: l.search, title: d.title, url: l.href };
  }

  function build(type, fields, options) {
    options = options && typeof options === 'object' ? options : {};
    const context = Object.assign({ page: pageContext() }, options.context);
    const userId = store.get('xconduit.userId');
    return Object.assign({
      type,
      messageId: uuid(),
      anonymousId,
      userId: userId || undefined,
      timestamp: new Date().toISOString(),
      context: Object.assign(context, {
        userAgent: navigator.userAgent,
        locale: navigator.language,
        library: { name: 'xconduit-tag', version: VERSION },
      }),
      integrations: options.integrations || {},
    }, fields);
  }

  function deliver(event) {
    if (!event.context.consent && state.consent) event.context.consent = state.consent;
    const s = state.s;
    if (stamp(s, event)) run(s, plan(s, event, state.traits), state.debug);
    else if (state.debug) console.info('[xconduit] no advertising consent: no X pixel for', event.type);
    event.writeKey = state.key;
    event.sentAt = new Date().toISOString();
    if (!state.collector) return;
    fetch(`${state.collector}/v1/${event.type}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify(event),
      keepalive: true,
      credentials: 'omit',
    }).catch(() => {});
  }

  function enqueue(event) {
    if (state.s) deliver(event);
    else state.pending.push(event);
  }

  function configure(tag) {
    state.s = settings(tag);
    const pending = state.pending.splice(0);
    pending.forEach(deliver);
  }

  const api = {
    core,
    version: VERSION,
    init(o) {
      o = obj(o) ? o : {};
      const origin = scriptUrl ? scriptUrl.origin : '';
      state.collector = String(o.collector || origin).replace(/\/+$/, '');
      state.key = String(o.key || (scriptUrl && scriptUrl.searchParams.get('key')) || '');
      if (obj(o.consent)) state.consent = o.consent;
      state.debug = o.debug === true;
      if (obj(o.tag)) configure(o.tag);
      else fetchSettings(state.collector, state.key).then(configure);
      return api;
    },
    consent(consent) {
      if (obj(consent)) state.consent = consent;
      return api;
    },
    // analytics.js's page([category], [name], [properties], [options]).
    page(...args) {
      const names = args.filter((a) => typeof a === 'string');
      const objs = args.filter(obj);
      const [name, category] = names.length > 1 ? [names[1], names[0]] : [names[0], undefined];
      const props = Object.assign(pageContext(), objs[0]);
      if (category) props.category = category;
      enqueue(build('page', compact({ name, category, properties: props }), objs[1]));
      return api;
    },
    track(event, properties, options) {
      enqueue(build('track', { event: String(event), properties: Object.assign({}, properties) }, options));
      return api;
    },
    identify(userId, traits, options) {
      if (obj(userId)) { options = traits; traits = userId; userId = undefined; }
      if (userId !== undefined && userId !== null) store.set('xconduit.userId', String(userId));
      Object.assign(state.traits, traits); // kept in memory only: may hold an email or phone
      enqueue(build('identify', { traits: Object.assign({}, traits) }, options));
      return api;
    },
  };

  w.xconduit = api;
  // Replay calls made on the stub snippet before this file loaded.
  const calls = Array.isArray(queued) ? queued.slice() : [];
  if (!calls.some((c) => c && c[0] === 'init') && scriptUrl && scriptUrl.searchParams.get('key')) api.init({});
  for (const c of calls) {
    if (c && typeof api[c[0]] === 'function' && c[0] !== 'core') api[c[0]].apply(api, c.slice(1));
  }
})(window, document);
