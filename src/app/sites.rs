//! The clinic's sites and "la sede más cercana": the nearest site to a shared location by
//! great-circle (haversine) distance. Pure data and arithmetic.

/// One of the clinic's sites.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Site {
    pub name: &'static str,
    pub address: &'static str,
    pub latitude: f64,
    pub longitude: f64,
}

/// The clinic's sites (Bogotá).
pub const SITES: &[Site] = &[
    Site {
        name: "Sede Centro",
        address: "Carrera 7 # 24-89",
        latitude: 4.6097,
        longitude: -74.0720,
    },
    Site {
        name: "Sede Norte",
        address: "Calle 127 # 15-40",
        latitude: 4.7030,
        longitude: -74.0440,
    },
    Site {
        name: "Sede Sur",
        address: "Avenida Primero de Mayo # 30-15",
        latitude: 4.5790,
        longitude: -74.1240,
    },
    Site {
        name: "Sede Occidente",
        address: "Avenida Boyacá # 64-50",
        latitude: 4.6680,
        longitude: -74.1130,
    },
];

/// Mean Earth radius (IUGG), km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km between two points given in degrees.
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// The nearest site to (`latitude`, `longitude`) and its distance in km; `None` for
/// coordinates that are not on Earth.
pub fn nearest(latitude: f64, longitude: f64) -> Option<(&'static Site, f64)> {
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return None;
    }
    SITES
        .iter()
        .map(|s| {
            let d = distance_km(latitude, longitude, s.latitude, s.longitude);
            (s, d)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_a_known_distance() {
        // Paris (48.8566, 2.3522) – London (51.5074, -0.1278): 343.5 km.
        let d = distance_km(48.8566, 2.3522, 51.5074, -0.1278);
        assert!((d - 343.5).abs() < 1.0, "{d}");
        assert_eq!(distance_km(4.6, -74.0, 4.6, -74.0), 0.0);
    }

    #[test]
    fn nearest_site() {
        // Parque de la 93, in the north.
        let (site, d) = nearest(4.6765, -74.0482).unwrap();
        assert_eq!(site.name, "Sede Norte");
        assert!((2.0..4.0).contains(&d), "{d}");
        // Plaza de Bolívar, downtown.
        assert_eq!(nearest(4.5981, -74.0760).unwrap().0.name, "Sede Centro");
        assert!(nearest(91.0, 0.0).is_none());
        assert!(nearest(f64::NAN, 0.0).is_none());
    }
}
