// tests/node/sign.js: signs stdin for the intake suites.
//   node sign.js stripe SECRET [TIMESTAMP]  -> a Stripe-Signature header,
//       made by the official stripe library (generateTestHeaderString)
//   node sign.js shopify SECRET             -> X-Shopify-Hmac-Sha256, as
//       Shopify documents it: base64 HMAC-SHA256 of the raw body
'use strict';
const crypto = require('crypto');
const [kind, secret, ts] = process.argv.slice(2);
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
	const payload = Buffer.concat(chunks).toString('utf8');
	if (kind === 'stripe') {
		const stripe = require('stripe')('sk_test_unused');
		const o = { payload, secret };
		if (ts) o.timestamp = Number(ts);
		process.stdout.write(stripe.webhooks.generateTestHeaderString(o));
	} else if (kind === 'shopify') {
		process.stdout.write(crypto.createHmac('sha256', secret)
		    .update(Buffer.concat(chunks)).digest('base64'));
	} else {
		process.exit(2);
	}
});
