// A Rapport client built on Apollo Client, set up the way docs/clients.md tells a mobile
// developer to: one endpoint for HTTP and WebSocket, the access token in every request, one
// refresh (shared by every request waiting on it) when the server says UNAUTHENTICATED,
// subscriptions over graphql-transport-ws, and cursor paging merged by the cache.

import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from "@apollo/client";
import { ErrorLink } from "@apollo/client/link/error";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { relayStylePagination } from "@apollo/client/utilities";
import { OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import { from, mergeMap } from "rxjs";
import WebSocket from "ws";

const REFRESH = `
  mutation Refresh($refreshToken: String!) {
    refreshSession(refreshToken: $refreshToken) {
      __typename
      ... on AuthPayload { accessToken refreshToken expiresAt }
      ... on InvalidCredentials { message }
    }
  }
`;

/** Where the app keeps its tokens (a phone: the Keychain or Keystore). */
export class Session {
  constructor(endpoint) {
    this.endpoint = endpoint;
    this.accessToken = null;
    this.refreshToken = null;
    this.expiresAt = null;
    this.refreshes = 0;
    this.pending = null;
  }

  /** Keep the tokens of an AuthPayload (from signUp, signIn or refreshSession). */
  keep(payload) {
    this.accessToken = payload.accessToken;
    this.refreshToken = payload.refreshToken;
    this.expiresAt = payload.expiresAt;
  }

  /**
   * Trade the refresh token for a new pair. A refresh token works once, and presenting it
   * twice ends the session, so concurrent callers share one request.
   */
  refresh() {
    if (this.pending === null) {
      this.pending = this.requestRefresh().finally(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  async requestRefresh() {
    this.refreshes += 1;
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: REFRESH, variables: { refreshToken: this.refreshToken } }),
    });
    const result = (await response.json()).data.refreshSession;
    if (result.__typename !== "AuthPayload") {
      this.accessToken = this.refreshToken = null;
      throw new Error(`Sign in again: ${result.message}`);
    }
    this.keep(result);
  }
}

function isUnauthenticated(error) {
  return (
    CombinedGraphQLErrors.is(error) &&
    error.errors.some((e) => e.extensions && e.extensions.code === "UNAUTHENTICATED")
  );
}

/** Build an Apollo Client for the Rapport server at `baseUrl` (e.g. http://127.0.0.1:8000). */
export function createRapportClient(baseUrl) {
  const endpoint = `${baseUrl}/graphql`;
  const session = new Session(endpoint);

  // Every HTTP request carries the current access token.
  const withToken = new ApolloLink((operation, forward) => {
    if (session.accessToken) {
      operation.setContext(({ headers = {} }) => ({
        headers: { ...headers, authorization: `Bearer ${session.accessToken}` },
      }));
    }
    return forward(operation);
  });

  // An expired (or otherwise refused) token: refresh once, then send the operation again.
  const refreshOnce = new ErrorLink(({ error, operation, forward }) => {
    if (!isUnauthenticated(error) || !session.refreshToken || operation.getContext().retried) return;
    operation.setContext({ retried: true });
    return from(session.refresh()).pipe(mergeMap(() => forward(operation)));
  });

  // Subscriptions: one WebSocket (graphql-transport-ws); the token goes in connection_init,
  // read afresh whenever the socket (re)connects.
  const sockets = createClient({
    url: endpoint.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: () => (session.accessToken ? { Authorization: `Bearer ${session.accessToken}` } : {}),
  });

  const link = ApolloLink.split(
    ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
    new GraphQLWsLink(sockets),
    ApolloLink.from([refreshOnce, withToken, new HttpLink({ uri: endpoint })]),
  );

  const cache = new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          // Pages of `contacts` (first/after) merge into one list per filter and order.
          contacts: relayStylePagination(["filter", "orderBy"]),
        },
      },
    },
  });

  const client = new ApolloClient({ link, cache });
  return {
    client,
    session,
    close: async () => {
      client.stop();
      await sockets.dispose();
    },
  };
}
