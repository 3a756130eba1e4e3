import { useEffect, useState } from "react";
import { request } from "./api/client";
import { VIEWER, type Viewer } from "./api/queries";
import { ErrorNote, Loading } from "./components/Notes";
import { useAsync } from "./components/useAsync";
import { AuditPage } from "./pages/AuditPage";
import { ExplainPage } from "./pages/ExplainPage";
import { LoginPage } from "./pages/LoginPage";
import { ProfilePage } from "./pages/ProfilePage";
import { ReviewPage } from "./pages/ReviewPage";
import { SearchPage } from "./pages/SearchPage";
import { href, parseRoute, type Route } from "./routing";
import { apiKey, setApiKey } from "./session";
import { can, ViewerContext } from "./viewer";

export function App() {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  const [signIns, setSignIns] = useState(0);
  useEffect(() => {
    const follow = () => setRoute(parseRoute(location.hash));
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);
  const viewer = useAsync(() => request<{ viewer: Viewer }>(VIEWER).then((d) => d.viewer), [signIns]);

  if (viewer.loading && !viewer.data) return <Loading what="the console" />;
  if (viewer.error?.unauthenticated || !viewer.data || route.page === "login") {
    return (
      <LoginPage
        refusal={viewer.error}
        onSignIn={(key) => {
          setApiKey(key);
          setSignIns((n) => n + 1);
          if (route.page === "login") location.hash = "#/";
        }}
      />
    );
  }
  return (
    <ViewerContext.Provider value={viewer.data}>
      <Header viewer={viewer.data} route={route} onSignOut={() => { setApiKey(null); setSignIns((n) => n + 1); }} />
      <main id="main" tabIndex={-1}>
        <ErrorNote error={viewer.error} what="who you are" />
        <Page route={route} />
      </main>
    </ViewerContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "profile":
      return <ProfilePage key={route.id} id={route.id} />;
    case "explain":
      return <ExplainPage key={`${route.a}|${route.b}`} a={route.a} b={route.b} />;
    case "review":
      return <ReviewPage />;
    case "audit":
      return <AuditPage key={route.profileId} profileId={route.profileId} />;
    case "search":
      return <SearchPage key={`${route.query}|${route.by}|${route.kind}`} route={route} />;
    case "login":
      return null;
  }
}

function Header({ viewer, route, onSignOut }: { viewer: Viewer; route: Route; onSignOut: () => void }) {
  const steward = can(viewer, "steward");
  const links: [string, string, boolean][] = [
    ["Search", href({ page: "search", query: "", by: "ANY", kind: "" }), route.page === "search" || route.page === "profile"],
    ["Explain", href({ page: "explain", a: "", b: "" }), route.page === "explain"],
  ];
  if (steward) {
    links.push(["Review queue", href({ page: "review" }), route.page === "review"]);
    links.push(["Audit log", href({ page: "audit", profileId: "" }), route.page === "audit"]);
  }
  return (
    <header className="top">
      <a className="skip" href="#main">Skip to content</a>
      <span className="brand">Identity console</span>
      <nav aria-label="Pages">
        {links.map(([text, to, current]) => (
          <a key={text} href={to} aria-current={current ? "page" : undefined}>{text}</a>
        ))}
        <a href="/graphql">GraphiQL</a>
      </nav>
      <div className="who">
        {viewer.development && <span className="badge warn" title="Authentication is off on this server">development mode</span>}
        {!can(viewer, "profile:read_pii") && (
          <span className="badge" title="This key lacks profile:read_pii: emails, phones, names and dates are masked">masked view</span>
        )}
        <span className="subject" title={`Scopes: ${viewer.scopes.join(", ") || "none"}`}>{viewer.subject}</span>
        {apiKey() && <button type="button" onClick={onSignOut}>Sign out</button>}
      </div>
    </header>
  );
}
