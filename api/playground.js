// Rapport's GraphQL playground: GraphiQL with the README's first session in its first tab,
// the access token carried into the Headers tab, and subscriptions over graphql-ws.
// Plain browser JavaScript on the globals the UMD builds define (React, ReactDOM, GraphiQL,
// graphqlWs): no bundler, nothing fetched from anywhere but this server.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("rapport-playground-config").textContent);
  // The page is served by GET /graphql, so its own address is the endpoint, whatever prefix
  // a proxy puts in front.
  const endpoint = window.location.href.split(/[?#]/)[0];
  const socketUrl = endpoint.replace(/^http/, "ws");
  // Plain JSON answers (Rapport has no @defer or @stream), so a sign-in's token can be read.
  const overHttp = GraphiQL.createFetcher({ url: endpoint, enableIncrementalDelivery: false });

  // The headers editor starts with a placeholder that explains the header; sending it would
  // only earn "the access token is malformed", so it is left out until a real token is there.
  function withoutPlaceholder(headers) {
    const sent = Object.assign({}, headers || {});
    for (const name of Object.keys(sent)) {
      if (typeof sent[name] === "string" && sent[name].indexOf(config.placeholderToken) >= 0) {
        delete sent[name];
      }
    }
    return sent;
  }

  function selectedOperation(documentAST, operationName) {
    if (!documentAST) return undefined;
    const operations = documentAST.definitions.filter((d) => d.kind === "OperationDefinition");
    if (operationName) return operations.find((d) => d.name && d.name.value === operationName);
    return operations.length === 1 ? operations[0] : undefined;
  }

  // One WebSocket at a time, opened with the headers of the tab that subscribes: the server
  // reads Authorization from connection_init, so new headers need a new connection.
  let socket = null;

  function socketFor(headers) {
    const key = JSON.stringify(headers);
    if (socket === null || socket.key !== key) {
      if (socket !== null) socket.client.dispose();
      socket = { key: key, client: graphqlWs.createClient({ url: socketUrl, connectionParams: headers }) };
    }
    return socket.client;
  }

  function describeClose(error) {
    if (error instanceof Error) return error;
    if (Array.isArray(error)) return new Error(error.map((e) => e.message).join("; "));
    if (error && typeof error.code === "number") {
      return new Error(`The subscription's WebSocket closed (${error.code} ${error.reason || ""}).`);
    }
    return new Error(String(error));
  }

  function subscribe(params, headers) {
    const client = socketFor(headers);
    return {
      subscribe(observer) {
        const stop = client.subscribe(params, {
          next: (result) => observer.next(result),
          error: (error) => observer.error(describeClose(error)),
          complete: () => observer.complete(),
        });
        return { unsubscribe: stop };
      },
    };
  }

  function accessTokenIn(result) {
    const data = result && result.data;
    if (!data || typeof data !== "object") return null;
    for (const value of Object.values(data)) {
      if (value && typeof value.accessToken === "string") return value.accessToken;
    }
    return null;
  }

  function Playground() {
    // Set only when a sign-in answers; GraphiQL then writes it into the current tab's editor.
    const [headers, setHeaders] = React.useState(undefined);

    const fetcher = React.useCallback((params, options) => {
      const sent = withoutPlaceholder(options && options.headers);
      const operation = selectedOperation(options && options.documentAST, params.operationName);
      if (operation && operation.operation === "subscription") return subscribe(params, sent);
      const answer = overHttp(params, Object.assign({}, options, { headers: sent }));
      if (!answer || typeof answer.then !== "function") return answer;
      return answer.then((result) => {
        const token = accessTokenIn(result);
        if (token !== null) {
          const next = Object.assign({}, sent, { Authorization: `Bearer ${token}` });
          setHeaders(JSON.stringify(next, null, 2));
        }
        return result;
      });
    }, []);

    return React.createElement(
      GraphiQL,
      {
        fetcher: fetcher,
        defaultQuery: config.firstSession,
        defaultHeaders: config.defaultHeaders,
        headers: headers,
        defaultEditorToolsVisibility: "headers",
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: true,
      },
      React.createElement(GraphiQL.Logo, null, "Rapport"),
    );
  }

  ReactDOM.createRoot(document.getElementById("playground")).render(
    React.createElement(Playground),
  );
})();
