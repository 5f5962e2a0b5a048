#include "execution_details.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "lithops/multiprocessing/errors.hpp"

namespace lithops::multiprocessing::detail {
namespace json = boost::json;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

constexpr int kWidth = 900, kLeft = 70, kRight = 20, kTop = 40, kBottom = 60;

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A "nice" tick step for a range (1, 2 or 5 times a power of ten).
double tick_step(double range, int ticks) {
  double raw = range / ticks;
  double p = std::pow(10.0, std::floor(std::log10(raw > 0 ? raw : 1)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * p) return m * p;
  }
  return 10 * p;
}

std::string num(double v) {
  std::ostringstream o;
  o << std::round(v * 1000) / 1000;
  return o.str();
}

void svg_open(std::ostringstream& o, int height, const std::string& title) {
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << kWidth / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
    << escape(title) << "</text>\n";
}

// Axes with ticks; returns nothing, draws into o. x in seconds, y labels given by caller.
void x_axis(std::ostringstream& o, double x_max, int y_bottom, const std::string& label) {
  const int plot_w = kWidth - kLeft - kRight;
  o << "<line x1=\"" << kLeft << "\" y1=\"" << y_bottom << "\" x2=\"" << kWidth - kRight
    << "\" y2=\"" << y_bottom << "\" stroke=\"black\"/>\n";
  double step = tick_step(x_max, 8);
  for (double t = 0; t <= x_max * 1.0001; t += step) {
    double x = kLeft + t / x_max * plot_w;
    o << "<line x1=\"" << num(x) << "\" y1=\"" << y_bottom << "\" x2=\"" << num(x) << "\" y2=\""
      << y_bottom + 5 << "\" stroke=\"black\"/>\n"
      << "<text x=\"" << num(x) << "\" y=\"" << y_bottom + 18 << "\" text-anchor=\"middle\">"
      << num(t) << "</text>\n";
  }
  o << "<text x=\"" << kLeft + plot_w / 2 << "\" y=\"" << y_bottom + 38
    << "\" text-anchor=\"middle\">" << escape(label) << "</text>\n";
}

void y_axis(std::ostringstream& o, int y_top, int y_bottom, double y_max,
            const std::string& label) {
  o << "<line x1=\"" << kLeft << "\" y1=\"" << y_top << "\" x2=\"" << kLeft << "\" y2=\""
    << y_bottom << "\" stroke=\"black\"/>\n";
  double step = tick_step(y_max, 5);
  for (double v = 0; v <= y_max * 1.0001; v += step) {
    double y = y_bottom - v / y_max * (y_bottom - y_top);
    o << "<line x1=\"" << kLeft - 5 << "\" y1=\"" << num(y) << "\" x2=\"" << kLeft << "\" y2=\""
      << num(y) << "\" stroke=\"black\"/>\n"
      << "<text x=\"" << kLeft - 8 << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">" << num(v)
      << "</text>\n";
  }
  o << "<text x=\"16\" y=\"" << (y_top + y_bottom) / 2
    << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " << (y_top + y_bottom) / 2 << ")\">"
    << escape(label) << "</text>\n";
}

void legend(std::ostringstream& o, int x, int y,
            std::initializer_list<std::pair<const char*, const char*>> items) {
  for (const auto& [colour, text] : items) {
    o << "<rect x=\"" << x << "\" y=\"" << y - 10 << "\" width=\"12\" height=\"12\" fill=\""
      << colour << "\"/>\n<text x=\"" << x + 16 << "\" y=\"" << y << "\">" << text << "</text>\n";
    x += 40 + static_cast<int>(std::string(text).size()) * 7;
  }
}

std::string timeline_svg(const std::vector<InvocationRecord>& r, std::int64_t t0, double span,
                         const std::string& title) {
  const int bar_h = std::clamp(400 / std::max<int>(1, static_cast<int>(r.size())), 2, 14);
  const int plot_h = bar_h * static_cast<int>(r.size()) + 10;
  const int height = kTop + plot_h + kBottom + 20;
  const int plot_w = kWidth - kLeft - kRight;
  std::ostringstream o;
  svg_open(o, height, title + " — timeline");
  auto x = [&](std::int64_t t) {
    return kLeft + static_cast<double>(t - t0) / 1e6 / span * plot_w;
  };
  for (std::size_t i = 0; i < r.size(); ++i) {
    double y = kTop + 5 + static_cast<double>(i) * bar_h;
    auto bar = [&](const char* cls, const char* colour, std::int64_t a, std::int64_t b) {
      o << "<rect class=\"" << cls << "\" x=\"" << num(x(a)) << "\" y=\"" << num(y) << "\" width=\""
        << num(std::max(0.5, x(b) - x(a))) << "\" height=\"" << bar_h - 1 << "\" fill=\"" << colour
        << "\"><title>" << escape(r[i].name) << "</title></rect>\n";
    };
    bar("bar-waiting", "#bbbbbb", r[i].submitted, r[i].started);
    bar("bar-running", "#1f77b4", r[i].started, r[i].finished);
    bar("bar-reporting", "#ff7f0e", r[i].finished, r[i].received);
  }
  y_axis(o, kTop, kTop + plot_h, static_cast<double>(r.size()), "invocation");
  x_axis(o, span, kTop + plot_h, "seconds since the first submission");
  legend(o, kLeft, height - 8,
         {{"#bbbbbb", "submitted → started"},
          {"#1f77b4", "running"},
          {"#ff7f0e", "finished → result received"}});
  o << "</svg>\n";
  return o.str();
}

std::string histogram_svg(const std::vector<InvocationRecord>& r, std::int64_t t0, double span,
                          const std::string& title) {
  const int panel_h = 220, height = kTop + 2 * panel_h + 2 * kBottom;
  const int plot_w = kWidth - kLeft - kRight;
  std::ostringstream o;
  svg_open(o, height, title + " — run times and concurrency");
  // Panel 1: histogram of run times (started -> finished).
  std::vector<double> d;
  for (const auto& x : r) d.push_back(static_cast<double>(x.finished - x.started) / 1e3);
  double dmax = d.empty() ? 1 : std::max(1e-3, *std::max_element(d.begin(), d.end()));
  const int bins = 20;
  std::vector<int> counts(bins, 0);
  for (double v : d) counts[std::min(bins - 1, static_cast<int>(v / dmax * bins))]++;
  int cmax = std::max(1, *std::max_element(counts.begin(), counts.end()));
  int top1 = kTop, bottom1 = kTop + panel_h;
  for (int b = 0; b < bins; ++b) {
    double h = static_cast<double>(counts[b]) / cmax * panel_h;
    o << "<rect class=\"hist-bin\" x=\"" << num(kLeft + b * plot_w / double(bins) + 1) << "\" y=\""
      << num(bottom1 - h) << "\" width=\"" << num(plot_w / double(bins) - 2) << "\" height=\""
      << num(h) << "\" fill=\"#1f77b4\"/>\n";
  }
  y_axis(o, top1, bottom1, cmax, "invocations");
  x_axis(o, dmax, bottom1, "run time (ms)");
  // Panel 2: invocations running over time.
  int top2 = bottom1 + kBottom, bottom2 = top2 + panel_h;
  const int steps = 200;
  std::vector<int> running(steps + 1, 0);
  for (const auto& x : r) {
    for (int s = 0; s <= steps; ++s) {
      auto t = t0 + static_cast<std::int64_t>(span * 1e6 * s / steps);
      if (x.started <= t && t < x.finished) running[s]++;
    }
  }
  int rmax = std::max(1, *std::max_element(running.begin(), running.end()));
  std::ostringstream pts;
  for (int s = 0; s <= steps; ++s) {
    pts << num(kLeft + plot_w * double(s) / steps) << ","
        << num(bottom2 - double(running[s]) / rmax * panel_h) << " ";
  }
  o << "<polyline class=\"concurrency\" points=\"" << pts.str()
    << "\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>\n";
  y_axis(o, top2, bottom2, rmax, "running");
  x_axis(o, span, bottom2, "seconds since the first submission");
  legend(o, kLeft, height - 8,
         {{"#1f77b4", "run time histogram"}, {"#d62728", "invocations running"}});
  o << "</svg>\n";
  return o.str();
}

}  // namespace

std::string write_execution_details(const std::string& dir, const std::string& stem,
                                    const std::string& title,
                                    std::vector<InvocationRecord> records) {
  std::filesystem::create_directories(dir);
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.submitted < b.submitted; });
  json::array arr;
  std::int64_t t0 = records.empty() ? 0 : records.front().submitted, t1 = t0;
  for (const auto& r : records) {
    t1 = std::max({t1, r.received, r.finished});
    arr.push_back(json::object{{"kind", r.kind},
                               {"name", r.name},
                               {"worker", r.worker},
                               {"cold_start", r.cold},
                               {"submitted_us", r.submitted},
                               {"delivered_us", r.delivered},
                               {"started_us", r.started},
                               {"finished_us", r.finished},
                               {"received_us", r.received}});
  }
  const std::string base = (std::filesystem::path(dir) / stem).string();
  std::ofstream(base + ".json") << json::serialize(json::object{{"title", title},
                                                                {"invocations", std::move(arr)}})
                                << "\n";
  const double span = std::max(1e-3, static_cast<double>(t1 - t0) / 1e6);
  std::ofstream(base + "-timeline.svg") << timeline_svg(records, t0, span, title);
  std::ofstream(base + "-histogram.svg") << histogram_svg(records, t0, span, title);
  return base + ".json";
}

}  // namespace lithops::multiprocessing::detail
