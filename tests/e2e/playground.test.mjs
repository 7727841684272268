// The playground in a real browser: Debian's Chromium, headless, driven by playwright-core,
// against the Rapport server `make e2e` starts on loopback. Each step leaves a screenshot in
// tests/e2e/artifacts/, and no request may leave loopback.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, test } from "node:test";

import { gql } from "@apollo/client";
import { chromium } from "playwright-core";

import { createRapportClient } from "./client.mjs";

const BASE_URL = process.env.RAPPORT_E2E_URL;
if (!BASE_URL) throw new Error("Run the e2e suites with `make e2e`: it starts the server.");
const ARTIFACTS = process.env.RAPPORT_E2E_ARTIFACTS;
const LOOPBACK = new URL(BASE_URL).hostname;

let browser;
let context;
let page;
const requests = []; // every URL the page asked for, HTTP and WebSocket
const problems = []; // console errors and uncaught exceptions in the page
const clients = []; // API clients that set up data for a test

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // Belt and braces: names other than loopback do not even resolve.
    args: [`--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${LOOPBACK}`],
  });
});

after(async () => {
  await browser?.close();
  await Promise.all(clients.map((c) => c.close()));
  const away = requests.filter((url) => new URL(url).hostname !== LOOPBACK);
  assert.deepEqual(away, [], "the playground reached beyond loopback");
  assert.ok(requests.some((url) => url.includes("/playground/assets/graphiql@")));
});

beforeEach(async () => {
  // A fresh context per test: no tabs or headers left in localStorage by an earlier one.
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  context.on("request", (request) => requests.push(request.url()));
  await context.route("**/*", (route) =>
    new URL(route.request().url()).hostname === LOOPBACK ? route.continue() : route.abort(),
  );
  page = await context.newPage();
  page.on("websocket", (socket) => requests.push(socket.url()));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(String(error)));
});

afterEach(async () => {
  await context.close();
  assert.deepEqual(problems.splice(0), [], "the page logged errors");
});

async function screenshot(name) {
  await page.screenshot({ path: join(ARTIFACTS, `playground-${name}.png`) });
}

async function openPlayground() {
  await page.goto(`${BASE_URL}/graphql`);
  await page.locator(".graphiql-query-editor .CodeMirror").waitFor();
  // The schema has arrived when the query editor can lint against it: wait for the Docs button.
  await page.getByRole("button", { name: /documentation explorer/i }).waitFor();
}

/** The CodeMirror instance of an editor, found by a selector around it. */
function editorValue(selector) {
  return page.$eval(`${selector} .CodeMirror`, (element) => element.CodeMirror.getValue());
}

const QUERY = ".graphiql-query-editor";
const HEADERS = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";
const RESPONSE = ".graphiql-response";

/** Type into an editor as a person would: click, select all, type. */
async function typeInto(selector, text) {
  await page.locator(`${selector} .CodeMirror`).click();
  await page.keyboard.press("Control+A");
  await page.keyboard.type(text);
  await closeCompletions();
}

/** GraphiQL suggests completions as you type, in a list that may cover the run button. */
async function closeCompletions() {
  await page.waitForTimeout(300); // the list opens a moment after the last key
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.querySelector(".CodeMirror-hints"));
}

/** Wait until the response pane parses as JSON and passes `check`; return it. */
async function responseWhere(check, description) {
  let last = "";
  for (let i = 0; i < 200; i++) {
    last = await editorValue(RESPONSE).catch(() => "");
    try {
      const parsed = JSON.parse(last);
      if (check(parsed)) return parsed;
    } catch {
      // not complete JSON yet
    }
    await page.waitForTimeout(50);
  }
  await screenshot(`failed-${description.replace(/\W+/g, "-")}`);
  assert.fail(`the response never showed ${description}; it shows:\n${last}`);
}

/** Press the run button; with several operations in the tab, pick one from its menu. */
async function run(operationName) {
  await page.locator(".graphiql-execute-button").click();
  if (operationName) await page.getByRole("menuitem", { name: operationName, exact: true }).click();
}

async function apiUser() {
  const rapport = createRapportClient(BASE_URL);
  clients.push(rapport);
  const email = `browser-${randomUUID().slice(0, 8)}@example.com`;
  const { data } = await rapport.client.mutate({
    mutation: gql`
      mutation ($input: SignUpInput!) {
        signUp(input: $input) { ... on AuthPayload { accessToken refreshToken expiresAt } }
      }
    `,
    variables: { input: { email, password: "correct horse battery" } },
  });
  rapport.session.keep(data.signUp);
  const createContact = async (firstName) => {
    const created = await rapport.client.mutate({
      mutation: gql`
        mutation ($input: CreateContactInput!) { createContact(input: $input) { ... on Contact { id } } }
      `,
      variables: { input: { firstName } },
    });
    return created.data.createContact.id;
  };
  return { rapport, token: rapport.session.accessToken, createContact };
}

test("the playground renders, says Rapport, and opens on the README's first session", async () => {
  await openPlayground();
  assert.equal(await page.title(), "Rapport · GraphQL playground");
  const icon = await page.$eval('link[rel="icon"]', (link) => link.href);
  const served = await page.request.get(icon);
  assert.equal(served.headers()["content-type"], "image/svg+xml");
  assert.match(await page.locator(".graphiql-logo").innerText(), /Rapport/);

  const query = await editorValue(QUERY);
  for (const name of ["SignUp", "CreateContact", "LogInteraction", "Contacts"]) {
    assert.match(query, new RegExp(`(mutation|query) ${name} \\{`));
  }
  const headers = await editorValue(HEADERS);
  assert.match(headers, /"Authorization": "Bearer <accessToken from SignUp or signIn>"/);
  await screenshot("01-rendered");
});

test("a query typed into the editor runs and its answer appears", async () => {
  await openPlayground();
  await typeInto(QUERY, "query Hello { __typename }");
  assert.equal(await editorValue(QUERY), "query Hello { __typename }");
  await run();
  await responseWhere((r) => r.data?.__typename === "Query", '"__typename": "Query"');
  await screenshot("02-typed-query");
});

test("the first session runs from the first tab, the token carried into the headers", async () => {
  await openPlayground();
  const signedUp = await responseAfter("SignUp", (r) => r.data?.signUp?.__typename === "AuthPayload");
  await screenshot("03-signed-up");
  // The playground wrote the new token into the Headers tab.
  const expected = JSON.stringify({ Authorization: `Bearer ${signedUp.data.signUp.accessToken}` }, null, 2);
  await page.waitForFunction(
    ([selector, text]) => document.querySelector(selector).CodeMirror.getValue() === text,
    [`${HEADERS} .CodeMirror`, expected],
  );

  const created = await responseAfter("CreateContact", (r) => r.data?.createContact?.id);
  assert.equal(created.data.createContact.displayName, "Grace Hopper");

  // Paste the contact's id over the placeholder, as the tab's comment says: click into the
  // editor, select the placeholder, type.
  await page.locator(`${QUERY} .CodeMirror`).click();
  await page.$eval(`${QUERY} .CodeMirror`, (element) => {
    const editor = element.CodeMirror;
    const start = editor.getValue().lastIndexOf("PASTE-THE-CONTACT-ID"); // not the comment's
    editor.setSelection(editor.posFromIndex(start), editor.posFromIndex(start + 20));
  });
  await page.keyboard.type(created.data.createContact.id);
  await closeCompletions();
  await responseAfter("LogInteraction", (r) => r.data?.logInteraction?.__typename === "Interaction");

  const listed = await responseAfter("Contacts", (r) => r.data?.contacts);
  assert.equal(listed.data.contacts.totalCount, 1);
  const grace = listed.data.contacts.edges[0].node;
  assert.equal(grace.displayName, "Grace Hopper");
  assert.equal(grace.interactions.nodes[0].summary, "Lunch near the Pentagon");
  await screenshot("04-first-session");
});

async function responseAfter(operationName, check) {
  await run(operationName);
  return responseWhere(check, `the answer to ${operationName}`);
}

test("a token typed into the headers editor brings back the user's contacts", async () => {
  const { token, createContact } = await apiUser();
  await createContact("Katherine");
  await createContact("Dorothy");

  await openPlayground();
  await typeInto(QUERY, "{ contacts(orderBy: NAME) { totalCount nodes { displayName } } }");
  // Without the header the server says what is missing.
  await run();
  const refused = await responseWhere((r) => r.errors, "an error");
  assert.equal(refused.errors[0].extensions.code, "UNAUTHENTICATED");
  assert.match(refused.errors[0].message, /Sign in first/);

  await typeInto(HEADERS, `{"Authorization": "Bearer ${token}"}`);
  await screenshot("05-token-in-headers");
  await run();
  const answer = await responseWhere((r) => r.data?.contacts, "the contacts");
  assert.deepEqual(answer.data.contacts, {
    totalCount: 2,
    nodes: [{ displayName: "Dorothy" }, { displayName: "Katherine" }],
  });
  await screenshot("06-authenticated-contacts");
});

test("a subscription runs over graphql-transport-ws and hears another client's write", async () => {
  const { token, createContact } = await apiUser();
  await openPlayground();
  const sockets = [];
  const sent = [];
  page.on("websocket", (socket) => {
    sockets.push(socket);
    socket.on("framesent", (frame) => sent.push(JSON.parse(frame.payload)));
  });

  await typeInto(HEADERS, `{"Authorization": "Bearer ${token}"}`);
  await typeInto(QUERY, 'subscription { changes(clientId: "playground") { cursor version } }');
  await run();
  await responseWhere((r) => r.data?.changes && r.data.changes.version === null, "the first poke");
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0].url(), `${BASE_URL.replace("http", "ws")}/graphql`);
  // graphql-transport-ws: the token rides in connection_init, the operation in "subscribe".
  assert.deepEqual(sent[0], { type: "connection_init", payload: { Authorization: `Bearer ${token}` } });
  assert.equal(sent[1].type, "subscribe");

  await createContact("Written elsewhere");
  const poked = await responseWhere((r) => r.data?.changes?.version >= 1, "a poke with a version");
  assert.ok(poked.data.changes.cursor);
  await screenshot("07-subscription-poked");
  await page.locator(".graphiql-execute-button").click(); // stop
});
