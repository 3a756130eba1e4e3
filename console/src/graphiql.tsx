/** GraphiQL served by the service itself, every asset bundled: it works on a host without
 * internet, unlike the CDN page GraphQL servers usually serve. Signed in to the console in
 * this tab, it sends the same key (also over the subscriptions' WebSocket); otherwise set an
 * `Authorization: Bearer <key>` header in its headers pane. */

import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { createRoot } from "react-dom/client";
import { authorization } from "./session";

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const fetcher = createGraphiQLFetcher({
  url: "/graphql",
  subscriptionUrl: `${scheme}//${location.host}/graphql`,
  headers: authorization(),
  wsConnectionParams: authorization(),
});

const START = `# The identity graph's GraphQL API: the docs (book icon) describe every field.
# Signed in to the console (/console/) in this tab, your key is sent with each request;
# otherwise add {"Authorization": "Bearer idk_..."} in Headers below.
query WhoAmI {
  viewer { subject scopes development }
}

# Then, for instance:
# search(query: "Mia Nakamura", by: NAME, first: 5) { total items { profileId score } }
`;

// GraphiQL keeps its tabs and history (each run's headers with it, an Authorization value
// typed there included) in the storage it is given: this tab's, as the console keeps its
// key, never localStorage, where they would outlive the session. What an earlier version
// left there is removed.
for (const name of Object.keys(localStorage)) {
  if (name.startsWith("graphiql:")) localStorage.removeItem(name);
}

createRoot(document.getElementById("graphiql")!).render(
  <GraphiQL fetcher={fetcher} defaultQuery={START} storage={sessionStorage} />,
);
