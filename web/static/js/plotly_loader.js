// plotly.js on demand: the 3.5 MB bundle loads without holding up the page
// (a <script> from this origin, so the CSP allows it; no inline code).
let loading = null;

export function plotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (loading) return loading;
  const started = performance.now();
  loading = new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/vendor/plotly.min.js";
    script.async = true;
    script.onload = () => {
      // visible in the browser's performance timeline (and read by bench/pages.py)
      performance.measure("hub:plotly:load", { start: started, end: performance.now() });
      return window.Plotly ? resolve(window.Plotly) : reject(new Error("plotly.js did not load"));
    };
    script.onerror = () => { loading = null; reject(new Error("plotly.js did not load")); };
    document.head.append(script);
  });
  return loading;
}
