use super::*;
use crate::risk_gate::GateConfig;

fn cfg() -> RiskConfig {
    RiskConfig {
        max_position: 1.0,
        max_drawdown: 50.0,
        session_loss_limit: 100.0,
        kill_action: KillAction::ReduceOnly,
        flatten_max_qty: 0.0,
        flatten_max_bps: 10.0,
        reduce_at: 0.8,
        stale_book_s: 0.5,
        max_feed_lag_s: 0.25,
        toxic_widen: 0.4,
        toxic_pull: 0.7,
        toxic_widen_mult: 2.0,
        kill_switch_resume: KillResume::Manual,
        kill_switch_cooldown_s: 300.0,
        resume_delay_s: 1.0,
        lot_size: 0.001,
        tick_size: 0.01,
    }
}

fn gate() -> PreTradeGate {
    PreTradeGate::new(GateConfig {
        max_notional: 1e9,
        tick_size: 0.01,
        lot_size: 0.001,
        max_orders_per_s: 100.0,
        order_burst: 100.0,
    })
    .unwrap()
}

fn inputs(now: f64, position: f64, pnl: f64) -> RiskInputs {
    RiskInputs {
        vpin: f64::NAN,
        synced: 1.0,
        crossed: 0.0,
        now,
        book_age_s: 0.0,
        position,
        pnl,
        feed_lag_s: 0.0,
        feed_safe: true,
        limit_mult: 1.0,
        toxic_probability: 0.0,
        halt: false,
    }
}

fn names(r: &RiskManager) -> Vec<&'static str> {
    r.reasons.iter().map(Reason::name).collect()
}

#[test]
fn the_kill_switch_trips_from_the_peak_and_reduces_while_a_position_is_held() {
    let (mut r, mut g) = (RiskManager::new(cfg()).unwrap(), gate());
    assert_eq!(
        r.evaluate(&inputs(0.0, 0.5, 100.0), &mut g),
        TradingState::Active
    );
    assert_eq!(
        r.evaluate(&inputs(1.0, 0.5, 60.0), &mut g),
        TradingState::Active
    );
    assert_eq!(
        r.evaluate(&inputs(2.0, 0.5, 50.0), &mut g),
        TradingState::Reducing
    );
    assert_eq!(names(&r), ["drawdown"]);
    assert_eq!(g.state(), TradingState::Reducing);
    // flat after the trip: nothing is quoted
    assert_eq!(
        r.evaluate(&inputs(3.0, 0.0, 50.0), &mut g),
        TradingState::Halted
    );
    r.resume();
    assert_eq!(
        r.evaluate(&inputs(4.0, 0.0, 50.0), &mut g),
        TradingState::Active
    );
}

#[test]
fn halts_list_trips_then_book_causes_then_calm_causes() {
    let (mut r, mut g) = (RiskManager::new(cfg()).unwrap(), gate());
    r.evaluate(&inputs(0.0, 0.0, 0.0), &mut g);
    let mut x = inputs(1.0, 0.0, -200.0);
    x.synced = 0.0;
    x.vpin = 0.9;
    x.book_age_s = 9.0; // an unsound book has no age
    assert_eq!(r.evaluate(&x, &mut g), TradingState::Halted);
    assert_eq!(
        names(&r),
        ["drawdown", "session_loss", "book_unsynced", "toxic_flow"]
    );
    assert_eq!(r.spread_mult, 2.0);
    // calm again: resume_delay for a second
    r.resume();
    r.reset_session();
    assert_eq!(
        r.evaluate(&inputs(2.0, 0.0, 0.0), &mut g),
        TradingState::Halted
    );
    assert_eq!(names(&r), ["resume_delay"]);
    assert_eq!(
        r.evaluate(&inputs(3.0, 0.0, 0.0), &mut g),
        TradingState::Active
    );
}

#[test]
fn broken_inputs_and_a_refusing_gate_halt_keeping_the_last_finite_values() {
    let (mut r, mut g) = (RiskManager::new(cfg()).unwrap(), gate());
    r.evaluate(&inputs(0.0, 0.3, 0.0), &mut g);
    assert_eq!(
        r.evaluate(&inputs(1.0, f64::NAN, f64::INFINITY), &mut g),
        TradingState::Halted
    );
    assert_eq!(names(&r), ["position_not_finite", "pnl_not_finite"]);
    assert_eq!(r.position, 0.3);
    let mut x = inputs(2.0, 0.0, 0.0);
    x.limit_mult = -1.0; // a negative limit: the gate refuses it
    assert_eq!(r.evaluate(&x, &mut g), TradingState::Halted);
    assert_eq!(names(&r).last(), Some(&"gate_refused"));
    assert!(
        r.gate_error.starts_with("ValueError: limit"),
        "{}",
        r.gate_error
    );
}

#[test]
fn flatten_crosses_the_touch_by_at_most_the_cap() {
    let mut c = cfg();
    c.kill_action = KillAction::Flatten;
    c.flatten_max_qty = 0.2;
    let (mut r, mut g) = (RiskManager::new(c).unwrap(), gate());
    r.evaluate(&inputs(0.0, 0.5, 100.0), &mut g);
    assert_eq!(r.flatten_target(100.0, 100.01, &g), None);
    r.evaluate(&inputs(1.0, 0.5, 0.0), &mut g);
    assert!(r.flattening);
    // 10 bps under a bid of 100: 99.90, a sell of at most 0.2 (200 lots of 0.001)
    assert_eq!(r.flatten_target(100.0, 100.01, &g), Some((-1, 9990, 200)));
    assert_eq!(r.flatten_target(f64::NAN, 100.01, &g), None);
}

#[test]
fn overrides_floor_the_state_and_name_their_source() {
    let (mut r, mut g) = (RiskManager::new(cfg()).unwrap(), gate());
    r.set_override("operator", TradingState::Reducing, false);
    r.set_override("portfolio", TradingState::Active, true);
    assert_eq!(
        r.evaluate(&inputs(0.0, 0.3, 0.0), &mut g),
        TradingState::Reducing
    );
    assert_eq!(
        r.reason_names().collect::<Vec<_>>(),
        ["operator", "portfolio"]
    );
    assert!(r.flattening);
    // flat: a flatten override halts
    assert_eq!(
        r.evaluate(&inputs(1.0, 0.0, 0.0), &mut g),
        TradingState::Halted
    );
    r.clear_override("portfolio");
    r.clear_override("operator");
    assert_eq!(
        r.evaluate(&inputs(2.0, 0.0, 0.0), &mut g),
        TradingState::Active
    );
    assert!(r.reasons.is_empty());
}

#[test]
fn bad_config_names_the_field() {
    let mut c = cfg();
    c.reduce_at = 1.5;
    assert_eq!(RiskManager::new(c).unwrap_err().arg, "reduce_at");
    let mut c = cfg();
    c.max_drawdown = f64::NAN;
    assert_eq!(RiskManager::new(c).unwrap_err().arg, "max_drawdown");
}
