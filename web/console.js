/*
 * console.js: the browser side of echod's web console, for both pages.
 * <body data-page="student"> follows /events (the viewer's own
 * messages); <body data-page="class"> follows /class/events (every
 * message) and polls /class/listeners for the scoreboard.  The contract
 * with the daemon is in the console spec: event names, JSON fields and
 * the ids and classes that the tests read.
 *
 * Message text comes from whoever can reach a listener, so every string
 * enters the page through textContent and nothing is parsed as HTML.
 */
'use strict';

(function () {
	const MAX_ROWS = 1000;		/* rows kept in #messages */
	const POLL_MS = 2000;		/* scoreboard refresh */
	const REOPEN_MS = 5000;		/* after the browser gave up */
	const FLUSH_MS = 200;		/* least time between table updates */

	const page = document.body.dataset.page;
	const streamUrl = page === 'class' ? '/class/events' : '/events';
	const statusEl = document.getElementById('status');
	const behindEl = document.getElementById('behind');
	const meEl = document.getElementById('me');
	const tbody = document.querySelector('#messages > tbody');

	/*
	 * Messages wait in a queue and reach the table in batches: a
	 * reconnect replays up to 1000 at once, and each change to the
	 * table lays out all its rows again (tens of milliseconds for 1000
	 * on a slow machine), so it changes at most every FLUSH_MS.
	 */
	let queue = [];
	let pending = false;
	let lastFlush = -Infinity;
	let rowCount = 0;
	let seq = 0;		/* messages shown, for the rows' stripes */
	let missed = 0;
	let source = null;

	function pad(n, width) {
		return String(n).padStart(width, '0');
	}

	/* Local HH:MM:SS.mmm; the raw string if it does not parse. */
	function formatTime(iso) {
		const d = new Date(iso);
		if (isNaN(d.getTime()))
			return String(iso);
		return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) +
		    ':' + pad(d.getSeconds(), 2) + '.' +
		    pad(d.getMilliseconds(), 3);
	}

	/* The daemon sends IPv6 addresses plain; the port needs brackets. */
	function formatAddr(addr, port) {
		const a = String(addr);
		return (a.includes(':') ? '[' + a + ']' : a) + ':' + port;
	}

	function cell(tr, cls, text) {
		const td = document.createElement('td');
		td.className = cls;
		td.textContent = text;
		tr.appendChild(td);
		return td;
	}

	function messageRow(m, alt) {
		const tr = document.createElement('tr');
		tr.className = alt ? 'msg alt' : 'msg';
		tr.dataset.id = String(m.id);
		cell(tr, 'time', formatTime(m.time)).title = String(m.time);
		cell(tr, 'listener', m.listener);
		cell(tr, 'transform', m.transform);
		cell(tr, 'from', formatAddr(m.from, m.from_port));
		const msg = cell(tr, 'message', m.message);
		if (m.cut) {
			const span = document.createElement('span');
			span.className = 'cut';
			span.textContent = ' … (' + m.length + ' bytes)';
			msg.appendChild(span);
		}
		cell(tr, 'reply', m.reply);
		return tr;
	}

	function flush() {
		if (!pending)
			return;
		pending = false;
		lastFlush = performance.now();
		/* Rows older than the newest MAX_ROWS would be removed at once. */
		const batch = queue.length > MAX_ROWS ?
		    queue.slice(-MAX_ROWS) : queue;
		queue = [];
		const frag = document.createDocumentFragment();
		for (let i = batch.length - 1; i >= 0; i--)
			frag.appendChild(messageRow(batch[i], (seq + i) % 2));
		seq += batch.length;
		const keep = MAX_ROWS - batch.length;
		if (keep <= 0) {
			tbody.replaceChildren();
			rowCount = 0;
		}
		while (rowCount > keep) {
			tbody.lastElementChild.remove();
			rowCount--;
		}
		tbody.insertBefore(frag, tbody.firstChild);
		rowCount += batch.length;
	}

	/*
	 * A hidden tab runs no animation frames: there the timer updates
	 * the table itself, so the queue cannot grow without bound.
	 */
	function schedule() {
		if (pending)
			return;
		pending = true;
		const wait = Math.max(0, lastFlush + FLUSH_MS - performance.now());
		setTimeout(function () {
			if (document.hidden)
				flush();
			else
				requestAnimationFrame(flush);
		}, wait);
	}

	function setStatus(text, live) {
		statusEl.textContent = text;
		statusEl.classList.toggle('live', live);
	}

	function parse(ev) {
		try {
			return JSON.parse(ev.data);
		} catch (e) {
			return null;
		}
	}

	function onHello(ev) {
		const h = parse(ev);
		if (h && meEl)
			meEl.textContent = String(h.address);
	}

	function onMessage(ev) {
		const m = parse(ev);
		if (!m)
			return;
		queue.push(m);
		/* Bound the queue while frames do not come. */
		if (queue.length > 2 * MAX_ROWS)
			queue.splice(0, queue.length - MAX_ROWS);
		schedule();
	}

	function onBehind(ev) {
		const b = parse(ev);
		if (!b || !(b.missed > 0))
			return;
		missed += b.missed;
		behindEl.textContent = missed +
		    (missed === 1 ? ' message was missed' :
		    ' messages were missed') + ': the page fell behind';
		behindEl.hidden = false;
	}

	/*
	 * EventSource reconnects by itself after a network error and sends
	 * Last-Event-ID, so the daemon resumes where the page stopped.  It
	 * gives up for good on an HTTP error (the daemon full, or a 403);
	 * then a new EventSource starts over with the daemon's history, so
	 * the table is cleared first to avoid showing messages twice.
	 */
	function open() {
		source = new EventSource(streamUrl);
		source.addEventListener('hello', onHello);
		source.addEventListener('message', onMessage);
		source.addEventListener('behind', onBehind);
		source.onopen = function () {
			setStatus('live', true);
		};
		source.onerror = function () {
			setStatus('reconnecting…', false);
			if (source.readyState !== EventSource.CLOSED)
				return;
			source = null;
			setTimeout(function () {
				queue = [];
				tbody.replaceChildren();
				rowCount = 0;
				open();
			}, REOPEN_MS);
		};
	}

	/* Scoreboard: one tr.listener per listener, rebuilt on change. */
	function listenerRow(l) {
		const tr = document.createElement('tr');
		tr.className = 'listener';
		tr.dataset.listener = String(l.listener);
		cell(tr, 'listener', l.listener);
		cell(tr, 'transform', l.transform);
		cell(tr, 'messages', String(l.messages));
		cell(tr, 'clients', String(l.clients));
		const td = cell(tr, 'addresses', '');
		(l.addresses || []).forEach(function (a, i) {
			if (i > 0)
				td.appendChild(document.createTextNode(', '));
			const span = document.createElement('span');
			span.className = 'addr';
			span.textContent = String(a.address);
			span.title = a.messages + ' messages, first ' +
			    formatTime(a.first) + ', last ' + formatTime(a.last);
			td.appendChild(span);
		});
		if (l.more > 0) {
			const span = document.createElement('span');
			span.className = 'more';
			span.textContent = ' (and ' + l.more + ' more)';
			td.appendChild(span);
		}
		return tr;
	}

	function startScoreboard() {
		const board = document.querySelector('#listeners > tbody');
		const caption = document.querySelector('#listeners > caption');
		const title = caption.textContent;
		let last = '';

		function show(text) {
			if (text === last)
				return;	/* keeps a selection or hover alive */
			const data = JSON.parse(text);
			const frag = document.createDocumentFragment();
			(data.listeners || []).forEach(function (l) {
				frag.appendChild(listenerRow(l));
			});
			board.replaceChildren(frag);
			last = text;
		}

		/* The next poll waits for this one: a slow daemon gets no pile-up. */
		function poll() {
			fetch('/class/listeners', { cache: 'no-store' })
			    .then(function (res) {
				if (!res.ok)
					throw new Error('HTTP ' + res.status);
				return res.text();
			    })
			    .then(function (text) {
				show(text);
				caption.textContent = title;
				caption.classList.remove('stale');
			    })
			    .catch(function (err) {
				caption.textContent = title + ' (not updated: ' +
				    err.message + ')';
				caption.classList.add('stale');
			    })
			    .then(function () {
				setTimeout(poll, POLL_MS);
			    });
		}
		poll();
	}

	open();
	if (page === 'class')
		startScoreboard();
})();
