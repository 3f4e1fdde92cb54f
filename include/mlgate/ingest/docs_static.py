"""What GX's Data Docs pages take from CDNs, in a form served from the lake: a stylesheet
with the part of Bootstrap 4 the pages use (its grid, cards, tables, badges, alerts,
navigation, spacing), GX's own font, glyphs for the Font Awesome icons of the verdicts, and
a script with the few jQuery and Bootstrap calls the pages make (the "Failed Only" filter,
the collapsed details). GX ships its styles, fonts and images, not these."""

from __future__ import annotations

_SPACES = {"0": "0", "1": ".25rem", "2": ".5rem", "3": "1rem", "4": "1.5rem", "5": "3rem"}
_SIDES = {
    "": ("",),
    "t": ("-top",),
    "b": ("-bottom",),
    "l": ("-left",),
    "r": ("-right",),
    "x": ("-left", "-right"),
    "y": ("-top", "-bottom"),
}
_BREAKPOINTS = {"": None, "sm": 576, "md": 768, "lg": 992, "xl": 1200}


def _responsive(rules_for) -> str:
    """Bootstrap's responsive classes: `rules_for(infix)` for each breakpoint, the larger
    ones inside their media query."""
    out = []
    for name, width in _BREAKPOINTS.items():
        rules = rules_for(f"-{name}" if name else "")
        out.append(rules if width is None else f"@media (min-width:{width}px){{{rules}}}")
    return "\n".join(out)


def _spacing(infix: str) -> str:
    rules = []
    for prop, letter in (("margin", "m"), ("padding", "p")):
        for side, suffixes in _SIDES.items():
            for size, value in _SPACES.items():
                body = ";".join(f"{prop}{s}:{value}!important" for s in suffixes)
                rules.append(f".{letter}{side}{infix}-{size}{{{body}}}")
    rules.append(f".m{infix}-auto{{margin:auto!important}}")
    rules.append(f".mr{infix}-auto{{margin-right:auto!important}}")
    rules.append(f".ml{infix}-auto{{margin-left:auto!important}}")
    return "\n".join(rules)


def _grid(infix: str) -> str:
    rules = [f".col{infix}{{flex:1 0 0%;max-width:100%}}"]
    for n in range(1, 13):
        width = f"{100 * n / 12:.4f}%"
        rules.append(f".col{infix}-{n}{{flex:0 0 {width};max-width:{width}}}")
    for display in ("none", "block", "inline", "inline-block", "flex", "inline-flex", "table"):
        rules.append(f".d{infix}-{display}{{display:{display}!important}}")
    return "\n".join(rules)


_COLUMNS = ",".join(
    f".col{b}{n}" for b in ("", "-xs", "-sm", "-md", "-lg", "-xl") for n in ("", *range(1, 13))
).replace(".col-xs,", "")

_BASE = """
@font-face{font-family:"HK Grotesk";src:url("fonts/HKGrotesk/HKGrotesk-Regular.otf")}
@font-face{font-family:"HK Grotesk";font-weight:bold;
  src:url("fonts/HKGrotesk/HKGrotesk-Bold.otf")}
*,::after,::before{box-sizing:border-box}
html{font-size:16px}
body{margin:0;font-family:"HK Grotesk",system-ui,-apple-system,"Segoe UI",Roboto,Arial,
  sans-serif;font-size:1rem;line-height:1.5;color:#212529;background:#fff}
h1,h2,h3,h4,h5,h6,.h6{margin:0 0 .5rem;font-weight:500;line-height:1.2}
h1{font-size:2.5rem}h2{font-size:2rem}h3{font-size:1.75rem}h4{font-size:1.5rem}
h5{font-size:1.25rem}h6,.h6{font-size:1rem}
p{margin:0 0 1rem}ul,ol{margin:0 0 1rem}
a{color:#007bff;text-decoration:none}a:hover{color:#0056b3;text-decoration:underline}
strong,b{font-weight:bold}
code,pre{font-family:SFMono-Regular,Menlo,Monaco,Consolas,monospace;font-size:87.5%}
code{color:#e83e8c;word-wrap:break-word}
img{vertical-align:middle;border-style:none}
.lead{font-size:1.25rem;font-weight:300}
.container-fluid{width:100%;padding-right:15px;padding-left:15px;margin-right:auto;
  margin-left:auto}
.row{display:flex;flex-wrap:wrap;margin-right:-15px;margin-left:-15px}
COLUMNS{position:relative;width:100%;padding-right:15px;padding-left:15px}
.col-xs-12{flex:0 0 100%;max-width:100%}
.float-left{float:left!important}.float-right{float:right!important}
.align-items-center{align-items:center!important}
.justify-content-center{justify-content:center!important}
.justify-content-between{justify-content:space-between!important}
.h-100{height:100%!important}.w-100{width:100%!important}
.sticky-top,.sticky{position:sticky;top:0;z-index:1020}
.rounded{border-radius:.25rem!important}
.border{border:1px solid #dee2e6!important}
.border-bottom{border-bottom:1px solid #dee2e6!important}
.bg-light{background-color:#f8f9fa!important}
.bg-white{background-color:#fff!important}
.text-success{color:#28a745!important}.text-danger{color:#dc3545!important}
.text-warning{color:#ffc107!important}.text-info{color:#17a2b8!important}
.text-muted{color:#6c757d!important}.text-center{text-align:center!important}
.text-right{text-align:right!important}
.card{position:relative;display:flex;flex-direction:column;min-width:0;word-wrap:break-word;
  background:#fff;border:1px solid rgba(0,0,0,.125);border-radius:.25rem}
.card-header{padding:.75rem 1.25rem;margin-bottom:0;background:rgba(0,0,0,.03);
  border-bottom:1px solid rgba(0,0,0,.125)}
.card-body{flex:1 1 auto;padding:1.25rem}
.card-text:last-child{margin-bottom:0}
.table{width:100%;margin-bottom:1rem;color:#212529;border-collapse:collapse}
.table td,.table th{padding:.75rem;vertical-align:top;border-top:1px solid #dee2e6}
.table thead th{vertical-align:bottom;border-bottom:2px solid #dee2e6;text-align:left}
.table-sm td,.table-sm th{padding:.3rem}
.table-bordered,.table-bordered td,.table-bordered th{border:1px solid #dee2e6}
.table-striped tbody tr:nth-of-type(odd){background:rgba(0,0,0,.05)}
.table-responsive{display:block;width:100%;overflow-x:auto}
.badge{display:inline-block;padding:.25em .4em;font-size:75%;font-weight:700;line-height:1;
  text-align:center;white-space:nowrap;vertical-align:baseline;border-radius:.25rem}
.badge-secondary{color:#fff;background:#6c757d}
.badge-success{color:#fff;background:#28a745}.badge-danger{color:#fff;background:#dc3545}
.badge-warning{color:#212529;background:#ffc107}
.alert{position:relative;padding:.75rem 1.25rem;margin-bottom:1rem;
  border:1px solid transparent;border-radius:.25rem}
.alert-secondary{color:#383d41;background:#e2e3e5;border-color:#d6d8db}
.alert-danger{color:#721c24;background:#f8d7da;border-color:#f5c6cb}
.alert-success{color:#155724;background:#d4edda;border-color:#c3e6cb}
.alert-info{color:#0c5460;background:#d1ecf1;border-color:#bee5eb}
.btn{display:inline-block;font-weight:400;text-align:center;vertical-align:middle;
  cursor:pointer;user-select:none;border:1px solid transparent;padding:.375rem .75rem;
  font-size:1rem;line-height:1.5;border-radius:.25rem}
.btn-primary{color:#fff;background:#007bff;border-color:#007bff}
.btn-primary:hover,.btn-primary.active{background:#0062cc;border-color:#005cbf}
.btn-group{position:relative;display:inline-flex;vertical-align:middle}
.btn-group>.btn:not(:last-child){border-top-right-radius:0;border-bottom-right-radius:0}
.btn-group>.btn:not(:first-child){border-top-left-radius:0;border-bottom-left-radius:0}
.btn-group-toggle>.btn input{position:absolute;clip:rect(0,0,0,0);pointer-events:none}
.nav{display:flex;flex-wrap:wrap;padding-left:0;margin-bottom:0;list-style:none}
.nav-link{display:block;padding:.5rem 1rem}
.nav-pills .nav-link{border-radius:.25rem}
.navbar{position:relative;display:flex;flex-wrap:wrap;align-items:center;
  justify-content:space-between;padding:.5rem 1rem;background:#fff}
.navbar-brand{display:inline-block;padding:.3125rem 0;margin-right:1rem;font-size:1.25rem;
  white-space:nowrap}
.breadcrumb{display:flex;flex-wrap:wrap;padding:.75rem 1rem;margin-bottom:1rem;
  list-style:none;background:#e9ecef;border-radius:.25rem}
.breadcrumb-item+.breadcrumb-item{padding-left:.5rem}
.breadcrumb-item+.breadcrumb-item::before{display:inline-block;padding-right:.5rem;
  color:#6c757d;content:"/"}
.breadcrumb-item.active{color:#6c757d}
.collapse:not(.show){display:none}
.fas,.far,.fa{display:inline-block;font-style:normal;font-weight:bold;line-height:1;
  min-width:1em;text-align:center}
.fa-check-circle::before,.fa-check::before{content:"\\2714"}
.fa-times::before,.fa-times-circle::before{content:"\\2718"}
.fa-exclamation-triangle::before{content:"\\26A0"}
.fa-question-circle::before{content:"?"}
.fa-info-circle::before{content:"\\2139"}
.mlgate-verdict-pass{color:#28a745;font-weight:bold}
.mlgate-verdict-fail{color:#dc3545;font-weight:bold}
"""

STYLESHEET = "\n".join(
    [
        _BASE.replace("COLUMNS", _COLUMNS).strip(),
        _responsive(_grid),
        _responsive(_spacing),
    ]
)

SCRIPT = """\
/* The jQuery and Bootstrap calls of GX's Data Docs pages, without the CDN. */
(function () {
  function wrap(nodes) {
    var list = Array.prototype.filter.call(nodes, Boolean);
    var self = {
      parent: function () {
        return wrap(list.map(function (n) { return n.parentElement; }));
      },
      fadeIn: function () {
        list.forEach(function (n) { n.style.display = ""; });
        return self;
      },
      fadeOut: function () {
        list.forEach(function (n) { n.style.display = "none"; });
        return self;
      },
      each: function (fn) {
        list.forEach(function (n, i) { fn(i, n); });
        return self;
      },
      modal: function () { return self; }
    };
    return self;
  }
  window.$ = window.jQuery = function (selector) {
    if (typeof selector === "function") {
      document.addEventListener("DOMContentLoaded", selector);
      return wrap([]);
    }
    return typeof selector === "string" ? wrap(document.querySelectorAll(selector))
      : wrap([selector]);
  };
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest('[data-toggle="collapse"]');
    if (toggle) {
      event.preventDefault();
      var body = document.getElementById(toggle.getAttribute("href").slice(1));
      if (body) { body.classList.toggle("show"); }
    }
    var button = event.target.closest(".btn-group-toggle .btn");
    if (button) {
      button.parentNode.querySelectorAll(".btn").forEach(function (other) {
        other.classList.toggle("active", other === button);
      });
    }
  });
})();
"""
