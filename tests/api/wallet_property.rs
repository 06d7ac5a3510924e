//! A seeded random walk through the money flows, over real HTTP: shop
//! orders paid online or on delivery, delivered, completed or cancelled;
//! commissions paid, cancelled, paid too late, delivered, completed,
//! disputed and resolved; Paystack's webhooks replayed; releases swept by
//! time. After every step every ledger invariant must hold (each
//! transaction sums to zero, cached balances and escrow equal the entries,
//! nothing below zero).
//!
//! Withdrawals too: asked for (within the balance or beyond it), and their
//! transfers reported paid, failed or reversed by webhooks, in any order
//! and more than once.
//!
//! To add a flow: a variant of `Op`, a weight in
//! `OPS`, and its arm in `World::step`. `ATELIER_LEDGER_SEED` replays a run;
//! `ATELIER_LEDGER_WALK_DEBUG=1` prints the orders and commissions after each step.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::commissions::{accept, act, ask, pay, paystack_pays, staff};
use crate::helpers::{Backend, TestApp, TestUser, body_of, status_and_body};
use crate::payments::shop_with_paystack;
use crate::paystack_mock::{MockPaystack, charge_success, send_transfer_webhook};
use crate::wallet_ledger::{assert_ledger_whole, wallet};

/// xorshift64*: enough randomness for a walk, with no new crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    OrderOnline,
    OrderOnDelivery,
    AdvanceOrder,
    CancelOrder,
    ReplayWebhook,
    Commission,
    AdvanceCommission,
    CancelCommission,
    PayAfterCancel,
    Dispute,
    Resolve,
    Withdraw,
    TransferEvent,
    Wait,
}

const OPS: &[(Op, usize)] = &[
    (Op::OrderOnline, 5),
    (Op::OrderOnDelivery, 2),
    (Op::AdvanceOrder, 10),
    (Op::CancelOrder, 2),
    (Op::ReplayWebhook, 2),
    (Op::Commission, 3),
    (Op::AdvanceCommission, 12),
    (Op::CancelCommission, 1),
    (Op::PayAfterCancel, 1),
    (Op::Dispute, 2),
    (Op::Resolve, 2),
    (Op::Withdraw, 4),
    (Op::TransferEvent, 5),
    (Op::Wait, 1),
];

const STEPS: usize = 100;

struct Order {
    id: String,
    tailor: usize,
    customer: usize,
    status: &'static str,
}

struct Commission {
    id: String,
    tailor: usize,
    customer: usize,
    /// Its status as last seen.
    status: String,
    dispute: Option<String>,
    /// A payment page opened and not paid.
    open_payment: Option<(String, i64)>,
}

struct World {
    app: TestApp,
    rng: Rng,
    tailors: Vec<TestUser>,
    customers: Vec<TestUser>,
    products: Vec<Value>,
    staff: TestUser,
    orders: Vec<Order>,
    commissions: Vec<Commission>,
    /// Every payment reference with its amount, for replays.
    paid: Vec<(String, i64)>,
    keys: u64,
    paystack: MockPaystack,
}

impl World {
    fn key(&mut self) -> String {
        self.keys += 1;
        format!("walk-{}", self.keys)
    }

    async fn checkout(&mut self, online: bool) {
        let customer = self.rng.below(self.customers.len());
        let product = self.rng.below(self.products.len());
        let quantity = 1 + self.rng.below(3) as i64;
        let variant = self.products[product]["variants"][0]["id"].clone();
        let who = &self.customers[customer];
        let added = self
            .app
            .post_as(
                &who.access,
                "/shop/api/cart/items/",
                json!({"variant_id": variant, "quantity": quantity}),
            )
            .await;
        assert_eq!(added.status(), StatusCode::CREATED);
        let method = if online {
            "paystack"
        } else {
            "pay_on_delivery"
        };
        let key = self.key();
        let response = self
            .app
            .client
            .post(self.app.url("/shop/api/checkout/"))
            .bearer_auth(&self.customers[customer].access)
            .header("Idempotency-Key", key)
            .json(&json!({"delivery_address": "3 Marina Road, Lagos", "payment_method": method}))
            .send()
            .await
            .unwrap();
        let (status, placed) = status_and_body(response).await;
        assert_eq!(status, StatusCode::CREATED, "{placed}");
        if online {
            let reference = placed["payment"]["reference"].as_str().unwrap().to_string();
            let amount = placed["payment"]["amount"].as_i64().unwrap();
            paystack_pays(&self.app, &reference, amount).await;
            self.paid.push((reference, amount));
        }
        for order in placed["orders"].as_array().unwrap() {
            self.orders.push(Order {
                id: order["id"].as_str().unwrap().to_string(),
                tailor: product,
                customer,
                status: if online { "paid" } else { "processing" },
            });
        }
    }

    async fn move_order(&mut self, index: usize, to: &'static str, by_customer: bool) {
        let order = &self.orders[index];
        let who = if by_customer {
            &self.customers[order.customer]
        } else {
            &self.tailors[order.tailor]
        };
        let response = self
            .app
            .client
            .patch(
                self.app
                    .url(&format!("/shop/api/orders/{}/status/", order.id)),
            )
            .bearer_auth(&who.access)
            .json(&json!({"status": to}))
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::OK, "{to}: {body}");
        self.orders[index].status = to;
    }

    fn orders_in(&self, statuses: &[&str]) -> Vec<usize> {
        (0..self.orders.len())
            .filter(|i| statuses.contains(&self.orders[*i].status))
            .collect()
    }

    fn commissions_in(&self, statuses: &[&str]) -> Vec<usize> {
        (0..self.commissions.len())
            .filter(|i| statuses.contains(&self.commissions[*i].status.as_str()))
            .collect()
    }

    async fn commission_act(
        &mut self,
        index: usize,
        tailor_side: bool,
        action: &str,
        body: Value,
    ) -> Value {
        let c = &self.commissions[index];
        let who = if tailor_side {
            &self.tailors[c.tailor]
        } else {
            &self.customers[c.customer]
        };
        let (status, answer) = act(&self.app, who, &c.id, action, body).await;
        assert_eq!(status, StatusCode::OK, "{action}: {answer}");
        self.commissions[index].status = answer["status"].as_str().unwrap().to_string();
        answer
    }

    async fn new_commission(&mut self) {
        let tailor = self.rng.below(self.tailors.len());
        let customer = self.rng.below(self.customers.len());
        let (status, created) = ask(
            &self.app,
            &self.customers[customer],
            &self.tailors[tailor],
            json!({}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        // Odd prices, so the fee's rounding is exercised.
        let price = 50_000 + self.rng.below(100_000) as i64 * 7 + 3;
        let deposit = [0, 30, 50, 100][self.rng.below(4)];
        let (status, quoted) = act(
            &self.app,
            &self.tailors[tailor],
            &id,
            "quote",
            json!({"price_kobo": price, "deposit_percent": deposit,
                   "due_at": crate::commissions::in_seconds(10 * 24 * 3600)}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{quoted}");
        let key = self.key();
        let (status, accepted) =
            accept(&self.app, &self.customers[customer], &id, &key, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        let mut commission = Commission {
            id,
            tailor,
            customer,
            status: accepted["commission"]["status"].as_str().unwrap().into(),
            dispute: None,
            open_payment: None,
        };
        if let Some(reference) = accepted["payment"]["reference"].as_str() {
            let amount = accepted["payment"]["amount"].as_i64().unwrap();
            // Now and then the customer walks away before paying.
            if self.rng.below(5) == 0 {
                commission.open_payment = Some((reference.to_string(), amount));
            } else {
                paystack_pays(&self.app, reference, amount).await;
                self.paid.push((reference.to_string(), amount));
                commission.status = "in_progress".into();
            }
        }
        self.commissions.push(commission);
    }

    async fn advance_commission(&mut self, index: usize) {
        let detail = body_of(
            self.app
                .get_as(
                    &self.customers[self.commissions[index].customer].access,
                    &format!("/commissions/api/{}/", self.commissions[index].id),
                )
                .await,
        )
        .await;
        match detail["status"].as_str().unwrap() {
            "in_progress" => {
                let stage = if detail["stage"].is_null() {
                    "cutting"
                } else {
                    "ready"
                };
                self.commission_act(index, true, "progress", json!({"stage": stage}))
                    .await;
            }
            "ready" => {
                let owed =
                    detail["price_kobo"].as_i64().unwrap() - detail["paid_kobo"].as_i64().unwrap();
                if owed > 0 {
                    let key = self.key();
                    let c = &self.commissions[index];
                    let (status, payment) =
                        pay(&self.app, &self.customers[c.customer], &c.id, &key).await;
                    assert_eq!(status, StatusCode::CREATED, "{payment}");
                    let reference = payment["reference"].as_str().unwrap().to_string();
                    paystack_pays(&self.app, &reference, owed).await;
                    self.paid.push((reference, owed));
                } else {
                    self.commission_act(index, true, "deliver", json!({})).await;
                }
            }
            "delivered" => {
                self.commission_act(index, false, "complete", json!({}))
                    .await;
            }
            other => self.commissions[index].status = other.to_string(),
        }
    }

    async fn step(&mut self, op: Op) {
        match op {
            Op::OrderOnline => self.checkout(true).await,
            Op::OrderOnDelivery => self.checkout(false).await,
            Op::AdvanceOrder => {
                let open = self.orders_in(&["paid", "processing", "shipped", "delivered"]);
                let Some(&i) = self.rng.pick(&open) else {
                    return;
                };
                match self.orders[i].status {
                    "paid" => self.move_order(i, "processing", false).await,
                    "processing" => self.move_order(i, "shipped", false).await,
                    "shipped" => self.move_order(i, "delivered", false).await,
                    _ => self.move_order(i, "completed", true).await,
                }
            }
            Op::CancelOrder => {
                let open = self.orders_in(&["paid", "processing"]);
                let Some(&i) = self.rng.pick(&open) else {
                    return;
                };
                self.move_order(i, "cancelled", false).await;
            }
            Op::ReplayWebhook => {
                let Some((reference, amount)) = self.rng.pick(&self.paid).cloned() else {
                    return;
                };
                let (body, signature) = charge_success(&reference, amount, "NGN");
                assert_eq!(
                    crate::payments::webhook(&self.app, &body, &signature).await,
                    StatusCode::OK
                );
            }
            Op::Commission => self.new_commission().await,
            Op::AdvanceCommission => {
                let open = self.commissions_in(&["in_progress", "ready", "delivered"]);
                let Some(&i) = self.rng.pick(&open) else {
                    return;
                };
                self.advance_commission(i).await;
            }
            Op::CancelCommission => {
                let open = self.commissions_in(&["awaiting_deposit", "in_progress", "ready"]);
                let Some(&i) = self.rng.pick(&open) else {
                    return;
                };
                self.commission_act(i, true, "cancel", json!({"reason": "Cannot make it."}))
                    .await;
            }
            Op::PayAfterCancel => {
                // A payment page left open, paid after the commission ended.
                let open: Vec<usize> = (0..self.commissions.len())
                    .filter(|i| self.commissions[*i].open_payment.is_some())
                    .collect();
                let Some(&i) = self.rng.pick(&open) else {
                    return;
                };
                if self.commissions[i].status == "awaiting_deposit" {
                    self.commission_act(i, false, "cancel", json!({})).await;
                }
                let (reference, amount) = self.commissions[i].open_payment.take().unwrap();
                paystack_pays(&self.app, &reference, amount).await;
                self.paid.push((reference, amount));
            }
            Op::Dispute => {
                let open = self.commissions_in(&["in_progress", "ready", "delivered"]);
                let Some(&i) = self.rng.pick(&open) else {
                    return;
                };
                let c = &self.commissions[i];
                let (status, body) = act(
                    &self.app,
                    &self.customers[c.customer],
                    &c.id,
                    "dispute",
                    json!({"reason": "Not as agreed."}),
                )
                .await;
                if status == StatusCode::OK {
                    self.commissions[i].status = "disputed".into();
                    self.commissions[i].dispute =
                        body["dispute"]["id"].as_str().map(str::to_string);
                } else {
                    // Work not started yet, or disputed before: both refused.
                    assert_eq!(status, StatusCode::CONFLICT, "{body}");
                }
            }
            Op::Resolve => {
                let open = self.commissions_in(&["disputed"]);
                let Some(&i) = self.rng.pick(&open) else {
                    return;
                };
                let c = &self.commissions[i];
                let detail = body_of(
                    self.app
                        .get_as(
                            &self.customers[c.customer].access,
                            &format!("/commissions/api/{}/", c.id),
                        )
                        .await,
                )
                .await;
                let refundable = detail["paid_kobo"].as_i64().unwrap()
                    - detail["refunded_kobo"].as_i64().unwrap();
                let body = if refundable > 0 && self.rng.below(2) == 0 {
                    json!({"outcome": "refund", "amount_kobo": 1 + self.rng.below(refundable as usize) as i64})
                } else {
                    json!({"outcome": "release"})
                };
                let dispute = c.dispute.clone().unwrap();
                let (status, answer) = status_and_body(
                    self.app
                        .post_as(
                            &self.staff.access,
                            &format!("/commissions/api/disputes/{dispute}/resolve/"),
                            body,
                        )
                        .await,
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{answer}");
                self.commissions[i].status = "resolved".into();
            }
            Op::Withdraw => self.withdraw().await,
            Op::TransferEvent => self.transfer_event().await,
            Op::Wait => tokio::time::sleep(Duration::from_millis(700)).await,
        }
    }

    /// A tailor withdraws part of what is available, or (one time in four)
    /// more than it: refused, nothing moves.
    async fn withdraw(&mut self) {
        let t = self.rng.below(self.tailors.len());
        let available = wallet(&self.app, &self.tailors[t]).await["available"]
            .as_i64()
            .unwrap();
        let beyond = self.rng.below(4) == 0 || available < 100_000;
        let amount = if beyond {
            available + 100_000
        } else {
            100_000 + (self.rng.next() % (available - 100_000 + 1) as u64) as i64
        };
        let key = self.key();
        let (status, body) =
            crate::withdrawals::withdraw(&self.app, &self.tailors[t], &key, amount).await;
        if beyond {
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["code"], "insufficient_funds", "{body}");
        } else {
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
    }

    /// Paystack reports one of the transfers sent so far: paid, failed or
    /// reversed, whatever it said before.
    async fn transfer_event(&mut self) {
        let sent = self.paystack.transfers();
        let Some(transfer) = self.rng.pick(&sent) else {
            return;
        };
        let reference = transfer["reference"].as_str().unwrap().to_string();
        let amount = transfer["amount"].as_i64().unwrap();
        let (event, status) = *self
            .rng
            .pick(&[
                ("transfer.success", "success"),
                ("transfer.success", "success"),
                ("transfer.failed", "failed"),
                ("transfer.reversed", "reversed"),
            ])
            .unwrap();
        self.paystack.set_transfer_status(&reference, status);
        let answer = send_transfer_webhook(&self.app, event, &reference, amount).await;
        assert_eq!(answer, StatusCode::OK);
    }
}

async fn world(backend: Backend) -> World {
    // A short hold, so that releases by time happen during the walk.
    let (app, paystack) = shop_with_paystack(backend, |s| {
        s.wallet = atelier::config::WalletSettings::new(1000, Duration::from_millis(1500));
        s.payout_accounts.cooldown = Duration::ZERO;
    })
    .await;
    let mut tailors = Vec::new();
    let mut products = Vec::new();
    for (name, price) in [("ada_tailor", 1_234_567), ("bola_tailor", 99_999)] {
        let tailor = app
            .verified_user_with(name, json!({"role": "tailor"}))
            .await;
        let product = body_of(
            app.post_as(
                &tailor.access,
                "/shop/api/product/upload/",
                json!({
                    "name": format!("{name}'s kaftan"), "kind": "ready_made", "price": price,
                    "variants": [{"size": "M", "stock": 10_000}]
                }),
            )
            .await,
        )
        .await;
        let account =
            json!({"bank_code": "058", "account_number": "0123456789", "account_name": "ADA OBI"});
        let added = app
            .post_as(&tailor.access, "/tailor/api/payout-account/", account)
            .await;
        assert_eq!(added.status(), StatusCode::CREATED);
        tailors.push(tailor);
        products.push(product);
    }
    let customers = vec![
        app.verified_user("chidi").await,
        app.verified_user("dayo").await,
    ];
    let staff = staff(&app).await;
    let seed = std::env::var("ATELIER_LEDGER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_1ED6_E200_0013);
    eprintln!("ledger walk seed: {seed} (ATELIER_LEDGER_SEED replays it)");
    World {
        app,
        rng: Rng(seed),
        tailors,
        customers,
        products,
        staff,
        orders: Vec::new(),
        commissions: Vec::new(),
        paid: Vec::new(),
        keys: 0,
        paystack,
    }
}

both_backends! {
    async fn a_random_walk_through_the_money_flows_keeps_every_invariant(backend) {
        let mut world = world(backend).await;
        let total: usize = OPS.iter().map(|(_, w)| w).sum();
        let mut walked = Vec::new();
        for _ in 0..STEPS {
            let mut pick = world.rng.below(total);
            let op = OPS.iter().find(|(_, w)| if pick < *w { true } else { pick -= w; false }).unwrap().0;
            world.step(op).await;
            walked.push(op);
            if std::env::var("ATELIER_LEDGER_WALK_DEBUG").is_ok() {
                let c: Vec<String> = world.commissions.iter().map(|c| c.status.clone()).collect();
                let o: Vec<&str> = world.orders.iter().map(|o| o.status).collect();
                eprintln!("{op:?}: orders {o:?} commissions {c:?}");
            }
            assert_ledger_whole(&world.app).await;
        }
        // Money reached the tailors' wallets, by every road.
        let mut seen = std::collections::BTreeMap::new();
        for tailor in &world.tailors {
            let w = wallet(&world.app, tailor).await;
            for field in ["available", "pending", "withdrawing", "paid_out", "owed"] {
                assert!(w[field].as_i64().unwrap() >= 0, "{field}: {w}");
            }
            for kind in ["payment", "release", "refund", "fee_owed", "withdrawal", "payout", "payout_returned"] {
                let (_, page) = crate::wallet_ledger::statement(&world.app, tailor, &format!("kind={kind}&page_size=1")).await;
                *seen.entry(kind).or_insert(0) += page["count"].as_i64().unwrap();
            }
        }
        eprintln!("ledger walk lines by kind: {seen:?}");
        // The default walk takes every road; another seed may not (it only
        // has to keep the invariants).
        if std::env::var("ATELIER_LEDGER_SEED").is_err() {
            assert!(seen.values().all(|n| *n > 0), "a road the walk never took: {seen:?} after {walked:?}");
        }
    }
}
