// Apollo Client against a real Rapport server and database (started by `make e2e`): the
// whole life of a mobile client, from signing up to hearing about another device's write.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { CombinedGraphQLErrors, gql } from "@apollo/client";
import { filter, firstValueFrom } from "rxjs";

import { createRapportClient } from "./client.mjs";

const BASE_URL = process.env.RAPPORT_E2E_URL;
if (!BASE_URL) throw new Error("Run the e2e suites with `make e2e`: it starts the server.");
const TOKEN_TTL_SECONDS = Number(process.env.RAPPORT_E2E_TOKEN_TTL_SECONDS);

const open = [];
after(() => Promise.all(open.map((c) => c.close())));

function connect() {
  const rapport = createRapportClient(BASE_URL);
  open.push(rapport);
  return rapport;
}

const TOKENS = "... on AuthPayload { accessToken refreshToken expiresAt user { id email } }";
const SIGN_UP = gql`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      __typename
      ${TOKENS}
      ... on ValidationError { message fields { field message } }
      ... on Conflict { message }
    }
  }
`;
const SIGN_IN = gql`
  mutation SignIn($input: SignInInput!) {
    signIn(input: $input) { __typename ${TOKENS} ... on InvalidCredentials { message } }
  }
`;
const REFRESH = gql`
  mutation Refresh($token: String!) {
    refreshSession(refreshToken: $token) { __typename ${TOKENS} ... on InvalidCredentials { message } }
  }
`;
const ME = gql`
  query Me { me { id email displayName } }
`;
const CREATE_CONTACT = gql`
  mutation CreateContact($input: CreateContactInput!) {
    createContact(input: $input) {
      __typename
      ... on Contact { id firstName lastName displayName company cadenceDays lastInteractionAt nextFollowUpAt }
      ... on ValidationError { message fields { field message } }
    }
  }
`;
const UPDATE_CONTACT = gql`
  mutation UpdateContact($id: ID!, $input: UpdateContactInput!) {
    updateContact(id: $id, input: $input) {
      __typename
      ... on Contact { id firstName lastName displayName company cadenceDays }
      ... on ValidationError { message fields { field message } }
      ... on NotFound { message entity id }
    }
  }
`;
const CONTACT = gql`
  query Contact($id: ID!) {
    contact(id: $id) {
      __typename
      ... on Contact {
        id displayName company cadenceDays lastInteractionAt nextFollowUpAt
        interactions(first: 5) { nodes { id kind summary occurredAt } }
      }
      ... on NotFound { message }
    }
  }
`;
const LOG_INTERACTION = gql`
  mutation LogInteraction($input: LogInteractionInput!) {
    logInteraction(input: $input) {
      __typename
      ... on Interaction { id kind summary occurredAt contacts { id lastInteractionAt nextFollowUpAt } }
      ... on ValidationError { message fields { field message } }
      ... on NotFound { message entity id }
    }
  }
`;
const CONTACTS = gql`
  query Contacts($first: Int!, $after: String) {
    contacts(first: $first, after: $after, orderBy: NAME) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id displayName } }
    }
  }
`;

function newEmail(name) {
  return `${name}-${randomUUID().slice(0, 8)}@example.com`;
}

/** Sign a new user up through `rapport`; its session keeps the tokens. */
async function signUp(rapport, name = "ada") {
  const input = { email: newEmail(name), password: "correct horse battery", timeZone: "Europe/London" };
  const { data } = await rapport.client.mutate({ mutation: SIGN_UP, variables: { input } });
  assert.equal(data.signUp.__typename, "AuthPayload", JSON.stringify(data.signUp));
  rapport.session.keep(data.signUp);
  return { ...input, user: data.signUp.user };
}

async function createContact(rapport, input) {
  const { data } = await rapport.client.mutate({ mutation: CREATE_CONTACT, variables: { input } });
  assert.equal(data.createContact.__typename, "Contact", JSON.stringify(data.createContact));
  return data.createContact;
}

test("sign up, sign in and refresh the session", async () => {
  const phone = connect();
  const account = await signUp(phone);
  const me = await phone.client.query({ query: ME, fetchPolicy: "network-only" });
  assert.equal(me.data.me.email, account.email);

  // A second device signs in to a session of its own.
  const tablet = connect();
  const signedIn = await tablet.client.mutate({
    mutation: SIGN_IN,
    variables: { input: { email: account.email, password: account.password } },
  });
  assert.equal(signedIn.data.signIn.__typename, "AuthPayload");
  tablet.session.keep(signedIn.data.signIn);
  const spent = tablet.session.refreshToken;

  // Refreshing trades the refresh token for a new pair that works.
  const refreshed = await tablet.client.mutate({ mutation: REFRESH, variables: { token: spent } });
  assert.equal(refreshed.data.refreshSession.__typename, "AuthPayload");
  assert.notEqual(refreshed.data.refreshSession.refreshToken, spent);
  tablet.session.keep(refreshed.data.refreshSession);
  const again = await tablet.client.query({ query: ME, fetchPolicy: "network-only" });
  assert.equal(again.data.me.id, account.user.id);

  // A refresh token works once. Presenting it again looks like theft: that session ends...
  const replay = await tablet.client.mutate({ mutation: REFRESH, variables: { token: spent } });
  assert.equal(replay.data.refreshSession.__typename, "InvalidCredentials");
  // The client's refresh then fails too, and the app must show its sign-in screen.
  const ended = await tablet.client
    .query({ query: ME, fetchPolicy: "network-only" })
    .catch((error) => error);
  assert.match(String(ended), /Sign in again/);
  assert.equal(tablet.session.accessToken, null);
  // ...and the phone's own session is untouched.
  const phoneMe = await phone.client.query({ query: ME, fetchPolicy: "network-only" });
  assert.equal(phoneMe.data.me.id, account.user.id);
});

test("create and update contacts", async () => {
  const rapport = connect();
  await signUp(rapport);
  const grace = await createContact(rapport, {
    firstName: "Grace",
    lastName: "Hopper",
    company: "Navy",
    cadenceDays: 30,
  });
  assert.equal(grace.displayName, "Grace Hopper");
  assert.ok(grace.nextFollowUpAt, "a cadence gives a follow-up date");

  // An update changes the fields it sends; null clears one.
  const { data } = await rapport.client.mutate({
    mutation: UPDATE_CONTACT,
    variables: { id: grace.id, input: { title: "Rear Admiral", company: null } },
  });
  assert.equal(data.updateContact.__typename, "Contact");
  assert.equal(data.updateContact.company, null);
  assert.equal(data.updateContact.cadenceDays, 30);

  // The cache is normalized by id: the contact read from it has the update.
  const cached = rapport.client.readFragment({
    id: `Contact:${grace.id}`,
    fragment: gql`fragment Cached on Contact { company cadenceDays }`,
  });
  assert.deepEqual(cached, { __typename: "Contact", company: null, cadenceDays: 30 });
});

test("log interactions, and the contact's derived dates follow", async () => {
  const rapport = connect();
  await signUp(rapport);
  const grace = await createContact(rapport, { firstName: "Grace", cadenceDays: 14 });
  const before = await rapport.client.query({ query: CONTACT, variables: { id: grace.id } });
  assert.equal(before.data.contact.lastInteractionAt, null);

  const occurredAt = "2026-01-15T12:30:00+00:00";
  const { data } = await rapport.client.mutate({
    mutation: LOG_INTERACTION,
    variables: { input: { contactIds: [grace.id], kind: "MEAL", summary: "Lunch", occurredAt } },
  });
  const interaction = data.logInteraction;
  assert.equal(interaction.__typename, "Interaction");
  assert.equal(Date.parse(interaction.contacts[0].lastInteractionAt), Date.parse(occurredAt));
  assert.equal(
    Date.parse(interaction.contacts[0].nextFollowUpAt),
    Date.parse(occurredAt) + 14 * 24 * 3600 * 1000,
  );

  // The mutation's answer updated the cached contact, so a cache-only read sees it.
  const cached = await rapport.client.query({
    query: CONTACT,
    variables: { id: grace.id },
    fetchPolicy: "cache-only",
  });
  assert.equal(cached.data.contact.lastInteractionAt, interaction.contacts[0].lastInteractionAt);
  const fresh = await rapport.client.query({
    query: CONTACT,
    variables: { id: grace.id },
    fetchPolicy: "network-only",
  });
  assert.deepEqual(
    fresh.data.contact.interactions.nodes.map((n) => [n.id, n.kind, n.summary]),
    [[interaction.id, "MEAL", "Lunch"]],
  );
});

test("page through contacts with cursors", async () => {
  const rapport = connect();
  await signUp(rapport);
  const names = Array.from({ length: 23 }, (_, i) => `Person ${String(i).padStart(2, "0")}`);
  for (const name of names) await createContact(rapport, { firstName: name });

  // As a list screen does: watch the first page, then fetch more from its end cursor.
  const watched = rapport.client.watchQuery({ query: CONTACTS, variables: { first: 10 } });
  let page = await firstValueFrom(watched.pipe(filter((r) => r.dataState === "complete")));
  const cursors = [];
  while (page.data.contacts.pageInfo.hasNextPage) {
    cursors.push(page.data.contacts.pageInfo.endCursor);
    await watched.fetchMore({ variables: { after: page.data.contacts.pageInfo.endCursor } });
    page = watched.getCurrentResult();
  }
  assert.equal(cursors.length, 2, "23 contacts are three pages of 10");
  assert.equal(new Set(cursors).size, 2);
  // relayStylePagination merged the three pages into one list, in the server's order.
  assert.equal(page.data.contacts.totalCount, 23);
  assert.deepEqual(
    page.data.contacts.edges.map((e) => e.node.displayName),
    names,
  );

  // A cursor belongs to its list: from another list it is a GraphQL error, not data.
  const misused = await rapport.client
    .query({
      query: gql`query ($after: String) { interactions(first: 5, after: $after) { nodes { id } } }`,
      variables: { after: cursors[0] },
    })
    .catch((error) => error);
  assert.ok(CombinedGraphQLErrors.is(misused), String(misused));
  assert.equal(misused.errors[0].extensions.code, "BAD_USER_INPUT");
});

test("typed errors arrive as data, with messages that say what to fix", async () => {
  const rapport = connect();
  const account = await signUp(rapport);

  const taken = await rapport.client.mutate({
    mutation: SIGN_UP,
    variables: { input: { email: account.email, password: "another long password" } },
  });
  assert.equal(taken.data.signUp.__typename, "Conflict");

  const wrong = await rapport.client.mutate({
    mutation: SIGN_IN,
    variables: { input: { email: account.email, password: "not the password" } },
  });
  assert.equal(wrong.data.signIn.__typename, "InvalidCredentials");

  const invalid = await rapport.client.mutate({
    mutation: CREATE_CONTACT,
    variables: {
      input: { firstName: "", cadenceDays: 0, emails: [{ label: "work", value: "ada@" }] },
    },
  });
  const problem = invalid.data.createContact;
  assert.equal(problem.__typename, "ValidationError");
  assert.deepEqual(
    problem.fields.map((f) => f.field).sort(),
    ["cadenceDays", "emails.0.value", "firstName"],
  );

  const missing = randomUUID();
  const notFound = await rapport.client.mutate({
    mutation: UPDATE_CONTACT,
    variables: { id: missing, input: { firstName: "Nobody" } },
  });
  assert.deepEqual(
    { ...notFound.data.updateContact, message: undefined },
    { __typename: "NotFound", message: undefined, entity: "contact", id: missing },
  );
  assert.ok(notFound.data.updateContact.message.length > 0);

  // Arguments out of range are GraphQL errors instead, with the field to fix.
  const tooMany = await rapport.client
    .query({ query: CONTACTS, variables: { first: 1000 } })
    .catch((error) => error);
  assert.ok(CombinedGraphQLErrors.is(tooMany), String(tooMany));
  assert.equal(tooMany.errors[0].extensions.code, "BAD_USER_INPUT");
  assert.equal(tooMany.errors[0].extensions.field, "first");
});

test("refusals before anything runs are GraphQL errors too, with their code", async () => {
  const rapport = connect();
  await signUp(rapport);

  // A document that does not validate: HTTP 400 in application/graphql-response+json.
  const invalid = await rapport.client
    .query({ query: gql`query NoSuchField { noSuchField }` })
    .catch((error) => error);
  assert.ok(CombinedGraphQLErrors.is(invalid), String(invalid));
  assert.match(invalid.errors[0].message, /noSuchField/);

  // A body over the 1 MiB limit: HTTP 413, still read as a GraphQL error.
  const tooLarge = await rapport.client
    .mutate({
      mutation: CREATE_CONTACT,
      variables: { input: { firstName: "Ada", notes: "x".repeat(1_100_000) } },
    })
    .catch((error) => error);
  assert.ok(CombinedGraphQLErrors.is(tooLarge), String(tooLarge));
  assert.equal(tooLarge.errors[0].extensions.code, "PAYLOAD_TOO_LARGE");
});

test("an expired access token is refreshed once and the request retried", async () => {
  const rapport = connect();
  const account = await signUp(rapport);
  const expired = rapport.session.accessToken;
  const waitMs = Date.parse(rapport.session.expiresAt) - Date.now() + 1500;
  assert.ok(waitMs <= (TOKEN_TTL_SECONDS + 2) * 1000, "the e2e server issues short-lived tokens");
  await sleep(waitMs);

  // Two requests at once both meet the expired token; they share one refresh.
  const [me, contacts] = await Promise.all([
    rapport.client.query({ query: ME, fetchPolicy: "network-only" }),
    rapport.client.query({ query: CONTACTS, variables: { first: 5 }, fetchPolicy: "network-only" }),
  ]);
  assert.equal(me.data.me.email, account.email);
  assert.equal(contacts.data.contacts.totalCount, 0);
  assert.equal(rapport.session.refreshes, 1);
  assert.notEqual(rapport.session.accessToken, expired);
});

test("a changes subscription is poked when another client writes", async () => {
  const phone = connect();
  const account = await signUp(phone);
  const web = connect();
  const signedIn = await web.client.mutate({
    mutation: SIGN_IN,
    variables: { input: { email: account.email, password: account.password } },
  });
  web.session.keep(signedIn.data.signIn);

  const pokes = [];
  let heard;
  const poked = new Promise((resolve) => {
    heard = resolve;
  });
  const subscription = phone.client
    .subscribe({
      query: gql`subscription Changes($clientId: ID!) { changes(clientId: $clientId) { cursor version } }`,
      variables: { clientId: `phone-${randomUUID()}` },
    })
    .subscribe({
      next: (result) => {
        pokes.push(result.data.changes);
        if (result.data.changes.version !== null) heard();
      },
      error: (error) => heard(error),
    });
  try {
    // The first message says the feed is open; only then can a write be missed by no one.
    for (let i = 0; pokes.length === 0 && i < 100; i++) await sleep(50);
    assert.deepEqual(pokes[0], { __typename: "SyncPoke", cursor: null, version: null });

    const written = await createContact(web, { firstName: "Written on the web" });
    const outcome = await Promise.race([poked, sleep(10_000, "no poke within 10 s")]);
    assert.equal(outcome, undefined, String(outcome));
    const poke = pokes.at(-1);
    assert.ok(poke.version >= 1);

    // The poke says "pull": the phone pulls and finds the web's contact.
    const { data } = await phone.client.query({
      query: gql`query Pull($clientId: ID!) { syncPull(clientId: $clientId, schemaVersion: 1) { changes cursor hasMore } }`,
      variables: { clientId: `phone-${randomUUID()}` },
      fetchPolicy: "network-only",
    });
    const contact = data.syncPull.changes.find((c) => c.entity === "contact");
    assert.equal(contact.id, written.id);
    assert.equal(contact.serverVersion, poke.version);
  } finally {
    subscription.unsubscribe();
  }
});
