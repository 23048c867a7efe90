//! WCAG 2.1 contrast checks for tenant branding colours.
//!
//! Tenants pick their own primary/accent colours; the portal must stay readable
//! (WCAG 2.1 AA), so the admin screen warns about weak pairs and suggests a
//! darker shade instead of silently accepting an unreadable brand.

/// An sRGB colour with 8-bit channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

pub const WHITE: Rgb = Rgb {
    r: 255,
    g: 255,
    b: 255,
};
pub const BLACK: Rgb = Rgb { r: 0, g: 0, b: 0 };
/// The light page background the portal stylesheet uses (`#f6f7f9`).
pub const PAGE_BACKGROUND: Rgb = Rgb {
    r: 0xf6,
    g: 0xf7,
    b: 0xf9,
};

/// Minimum ratio for normal text (WCAG 2.1 SC 1.4.3).
pub const AA_NORMAL: f64 = 4.5;
/// Minimum ratio for large text (SC 1.4.3) and UI components such as focus rings (SC 1.4.11).
pub const AA_LARGE: f64 = 3.0;

impl Rgb {
    /// Parses `#rrggbb` or `#rgb`, case-insensitive. No whitespace, no missing `#`:
    /// the caller trims form input, so anything odd here is a bug worth rejecting.
    pub fn parse_hex(s: &str) -> Option<Rgb> {
        let digits = s.strip_prefix('#')?.as_bytes();
        // Checked by hand: `u8::from_str_radix` would also accept a leading `+`.
        let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        match digits.len() {
            3 => {
                let n: Vec<u8> = digits.iter().map(|&c| nibble(c)).collect::<Option<_>>()?;
                Some(Rgb {
                    r: n[0] * 17,
                    g: n[1] * 17,
                    b: n[2] * 17,
                })
            }
            6 => {
                let n: Vec<u8> = digits.iter().map(|&c| nibble(c)).collect::<Option<_>>()?;
                Some(Rgb {
                    r: n[0] << 4 | n[1],
                    g: n[2] << 4 | n[3],
                    b: n[4] << 4 | n[5],
                })
            }
            _ => None,
        }
    }

    /// Lowercase `#rrggbb`, the form stored in tenant settings and CSS.
    pub fn to_hex(&self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

/// Relative luminance per WCAG 2.1. The spec's old 0.03928 threshold and the sRGB
/// 0.04045 one give identical results for 8-bit channels (no value falls between).
pub fn relative_luminance(c: Rgb) -> f64 {
    let lin = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.04045 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b)
}

/// Contrast ratio in 1.0..=21.0; symmetric in its arguments.
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (hi, lo) = if la >= lb { (la, lb) } else { (lb, la) };
    // The clamp only guards the documented range against float rounding.
    ((hi + 0.05) / (lo + 0.05)).clamp(1.0, 21.0)
}

/// WCAG 2.1 AA for text. No rounding: 4.499:1 fails, as the spec requires.
pub fn passes_aa(fg: Rgb, bg: Rgb, large_text: bool) -> bool {
    contrast_ratio(fg, bg) >= if large_text { AA_LARGE } else { AA_NORMAL }
}

/// One branding colour pair that fails WCAG 2.1 AA, with bilingual text for the admin.
#[derive(Debug, Clone, PartialEq)]
pub struct ContrastWarning {
    /// Stable key for the UI/tests: `white-on-primary`, `primary-on-page`, `accent-on-white`.
    pub pair: &'static str,
    /// Measured ratio, unrounded.
    pub ratio: f64,
    /// Required ratio.
    pub needed: f64,
    pub message_vi: String,
    pub message_en: String,
}

/// Checks how the portal actually uses the brand colours:
/// - white text on the primary colour (buttons, header) and primary-coloured links on
///   white: the same two colours, and contrast is symmetric, so one warning covers both;
/// - primary-coloured links on the page background `#f6f7f9`;
/// - the accent as a 3px focus outline/border on white (non-text, needs 3:1).
pub fn check_brand(primary: Rgb, accent: Option<Rgb>) -> Vec<ContrastWarning> {
    let mut out = Vec::new();
    let mut check = |pair, fg, bg, needed, what_vi: &str, what_en: &str| {
        let ratio = contrast_ratio(fg, bg);
        if ratio < needed {
            let (r, n) = (shown_ratio(ratio), shown_needed(needed));
            out.push(ContrastWarning {
                pair,
                ratio,
                needed,
                message_vi: format!(
                    "{what_vi} có độ tương phản {}:1, cần tối thiểu {}:1 (WCAG 2.1 AA).",
                    r.replace('.', ","),
                    n.replace('.', ",")
                ),
                message_en: format!(
                    "{what_en} has a contrast of {r}:1; at least {n}:1 is needed (WCAG 2.1 AA)."
                ),
            });
        }
    };
    check(
        "white-on-primary",
        WHITE,
        primary,
        AA_NORMAL,
        "Chữ trắng trên màu chính",
        "White text on the primary colour",
    );
    check(
        "primary-on-page",
        primary,
        PAGE_BACKGROUND,
        AA_NORMAL,
        "Chữ màu chính trên nền trang (#f6f7f9)",
        "Primary-colour text on the page background (#f6f7f9)",
    );
    if let Some(accent) = accent {
        check(
            "accent-on-white",
            accent,
            WHITE,
            AA_LARGE,
            "Viền tiêu điểm bằng màu nhấn trên nền trắng",
            "The accent-colour focus outline on white",
        );
    }
    out
}

/// Two decimals, truncated rather than rounded so a failing 4.497 never reads "4.50".
fn shown_ratio(ratio: f64) -> String {
    format!("{:.2}", (ratio * 100.0 + 1e-9).floor() / 100.0)
}

/// "4.5", "3": thresholds are written the way WCAG writes them.
fn shown_needed(needed: f64) -> String {
    if needed.fract() == 0.0 {
        format!("{needed:.0}")
    } else {
        format!("{needed}")
    }
}

/// The lightest darker shade of `c` (channels scaled down together, keeping the hue) that
/// reaches 4.5:1 with white, and also with the page background so that applying the
/// suggestion clears every primary-colour warning from [`check_brand`]. Returns `c` itself
/// if it already passes; always terminates because black passes.
pub fn darken_until_readable(c: Rgb) -> Rgb {
    let ok = |x: Rgb| {
        contrast_ratio(x, WHITE) >= AA_NORMAL && contrast_ratio(x, PAGE_BACKGROUND) >= AA_NORMAL
    };
    // Scale in 1/255 steps: small enough to find the closest shade, integer so deterministic.
    let scale = |v: u8, s: u32| ((u32::from(v) * s + 127) / 255) as u8;
    (0..=255u32)
        .rev()
        .map(|s| Rgb {
            r: scale(c.r, s),
            g: scale(c.g, s),
            b: scale(c.b, s),
        })
        .find(|&x| ok(x))
        .unwrap_or(BLACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Rgb {
        Rgb::parse_hex(s).unwrap()
    }

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() < eps
    }

    #[test]
    fn white_black_is_21_and_symmetric() {
        assert_eq!(contrast_ratio(WHITE, BLACK), 21.0);
        assert_eq!(contrast_ratio(BLACK, WHITE), 21.0);
        assert_eq!(contrast_ratio(WHITE, WHITE), 1.0);
        assert_eq!(relative_luminance(WHITE), 1.0);
        assert_eq!(relative_luminance(BLACK), 0.0);
    }

    #[test]
    fn grey_threshold_pair() {
        let r777 = contrast_ratio(hex("#777777"), WHITE);
        let r767 = contrast_ratio(hex("#767676"), WHITE);
        assert!(close(r777, 4.48, 0.005), "{r777}");
        assert!(close(r767, 4.54, 0.005), "{r767}");
        assert!(!passes_aa(hex("#777777"), WHITE, false));
        assert!(passes_aa(hex("#767676"), WHITE, false));
        // Large text only needs 3:1.
        assert!(passes_aa(hex("#777777"), WHITE, true));
    }

    #[test]
    fn known_reference_values() {
        // Values as published by the WCAG techniques / WebAIM checker.
        assert!(close(contrast_ratio(hex("#0000ff"), WHITE), 8.59, 0.005));
        assert!(close(contrast_ratio(hex("#ff0000"), WHITE), 4.0, 0.005));
        assert!(close(contrast_ratio(hex("#595959"), WHITE), 7.0, 0.005));
        assert!(close(contrast_ratio(hex("#008000"), WHITE), 5.14, 0.005));
        assert!(close(relative_luminance(hex("#ff0000")), 0.2126, 1e-12));
        assert!(close(relative_luminance(hex("#00ff00")), 0.7152, 1e-12));
        assert!(close(relative_luminance(hex("#0000ff")), 0.0722, 1e-12));
        // Either side of the linear/power-curve switch in the sRGB transfer function.
        assert!(close(
            relative_luminance(hex("#0a0a0a")),
            10.0 / 255.0 / 12.92,
            1e-12
        ));
        assert!(close(relative_luminance(hex("#0b0b0b")), 0.003347, 1e-6));
        // Red on white (3.998:1) is fine for large text only.
        assert!(passes_aa(hex("#ff0000"), WHITE, true));
        assert!(!passes_aa(hex("#ff0000"), WHITE, false));
    }

    #[test]
    fn parse_accepts_both_forms_case_insensitive() {
        assert_eq!(
            hex("#0B4F8A"),
            Rgb {
                r: 0x0b,
                g: 0x4f,
                b: 0x8a
            }
        );
        assert_eq!(hex("#0b4f8a"), hex("#0B4F8A"));
        assert_eq!(
            hex("#fA0"),
            Rgb {
                r: 0xff,
                g: 0xaa,
                b: 0x00
            }
        );
        assert_eq!(hex("#000"), BLACK);
        assert_eq!(hex("#FFF"), WHITE);
    }

    #[test]
    fn parse_rejects_everything_else() {
        for bad in [
            "",
            "#",
            "fff",
            "ffffff",
            "#ff",
            "#ffff",
            "#fffff",
            "#fffffff",
            "#ggg",
            "#12345g",
            " #fff",
            "#fff ",
            "#+ff",
            "#+fffff",
            "##fff",
            "#ﬀf",
            "#ééé",
            "rgb(0,0,0)",
        ] {
            assert_eq!(Rgb::parse_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn to_hex_round_trips_lowercase() {
        assert_eq!(hex("#0B4F8A").to_hex(), "#0b4f8a");
        assert_eq!(hex("#abc").to_hex(), "#aabbcc");
        assert_eq!(BLACK.to_hex(), "#000000");
        for s in ["#123456", "#fedcba", "#00ff7f"] {
            assert_eq!(hex(s).to_hex(), s);
        }
    }

    #[test]
    fn pale_yellow_primary_warns() {
        let w = check_brand(hex("#ffe680"), Some(hex("#fff3b0")));
        let pairs: Vec<_> = w.iter().map(|w| w.pair).collect();
        assert_eq!(
            pairs,
            ["white-on-primary", "primary-on-page", "accent-on-white"]
        );
        for x in &w {
            assert!(x.ratio < x.needed);
            assert!(x.message_vi.contains("WCAG 2.1 AA") && x.message_en.contains("WCAG 2.1 AA"));
        }
        assert_eq!(w[0].needed, 4.5);
        assert_eq!(w[2].needed, 3.0);
        assert!(w[2].message_vi.contains("cần tối thiểu 3:1"));
        assert!(w[2].message_en.contains("at least 3:1 is needed"));
    }

    #[test]
    fn message_format_matches_spec() {
        let w = check_brand(hex("#ffe680"), None);
        let first = &w[0];
        let r = format!("{:.2}", (first.ratio * 100.0).floor() / 100.0);
        assert_eq!(
            first.message_vi,
            format!(
                "Chữ trắng trên màu chính có độ tương phản {}:1, cần tối thiểu 4,5:1 (WCAG 2.1 AA).",
                r.replace('.', ",")
            )
        );
        assert_eq!(
            first.message_en,
            format!(
                "White text on the primary colour has a contrast of {r}:1; at least 4.5:1 is needed (WCAG 2.1 AA)."
            )
        );
    }

    #[test]
    fn shown_ratio_never_rounds_up_to_pass() {
        assert_eq!(shown_ratio(4.497), "4.49");
        assert_eq!(shown_ratio(2.87), "2.87");
        assert_eq!(shown_ratio(1.0), "1.00");
        assert_eq!(shown_needed(4.5), "4.5");
        assert_eq!(shown_needed(3.0), "3");
    }

    #[test]
    fn dark_blue_has_no_warnings() {
        assert!(check_brand(hex("#0b4f8a"), None).is_empty());
        assert!(check_brand(hex("#0b4f8a"), Some(hex("#0b4f8a"))).is_empty());
        assert!(check_brand(hex("#0b4f8a"), Some(hex("#d97706"))).is_empty());
    }

    #[test]
    fn only_page_background_fails_for_borderline_primary() {
        // #767676 passes on white (4.54) but not on #f6f7f9.
        let w = check_brand(hex("#767676"), None);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].pair, "primary-on-page");
    }

    #[test]
    fn darken_gives_readable_closest_shade() {
        for s in [
            "#ffe680", "#ff0000", "#3399ff", "#777777", "#ffffff", "#00ff00",
        ] {
            let c = hex(s);
            let d = darken_until_readable(c);
            assert!(passes_aa(WHITE, d, false), "{s} -> {}", d.to_hex());
            assert!(
                passes_aa(d, PAGE_BACKGROUND, false),
                "{s} -> {}",
                d.to_hex()
            );
            assert!(check_brand(d, None).is_empty(), "{s} -> {}", d.to_hex());
            assert!(d.r <= c.r && d.g <= c.g && d.b <= c.b);
            assert!(relative_luminance(d) < relative_luminance(c));
        }
        // Hue kept: a pure red stays a pure red.
        let red = darken_until_readable(hex("#ff0000"));
        assert!(red.r > 0 && red.g == 0 && red.b == 0);
        // Closest: one step lighter would not pass.
        let d = darken_until_readable(hex("#777777"));
        let lighter = Rgb {
            r: d.r + 1,
            g: d.g + 1,
            b: d.b + 1,
        };
        assert!(!check_brand(lighter, None).is_empty());
    }

    #[test]
    fn darken_keeps_already_readable_colour() {
        assert_eq!(darken_until_readable(hex("#0b4f8a")), hex("#0b4f8a"));
        assert_eq!(darken_until_readable(BLACK), BLACK);
    }
}
