//! Matching algorithms: how one price level's resting quantity is allocated to an incoming order.
//!
//! The book decides *which* level trades (best price first) and the algorithm decides *who* at that
//! level fills. [`OrderBook<M>`](crate::book::OrderBook) is generic over `M`, so the algorithm's
//! `match_level` is monomorphized and inlined into the matching loop.
//!
//! Core never names a concrete algorithm. The binary writes a closed enum of the algorithms it
//! compiled in with [`compiled_matching!`](crate::compiled_matching): a `match` per call, as cheap as a
//! direct call when one variant is live, plus an `External` escape variant holding a registered
//! out-of-tree algorithm behind a trait object ([`BoxedMatching`]). enum_dispatch cannot do this: its
//! trait and enum must live in one crate, and here the trait is in core while the variants follow
//! the binary's Cargo features.
//!
//! # Contract
//! `match_level` must allocate `min(level.budget(), level.total_qty())` lots. [`LevelFills::fill`]
//! clamps every allocation, and if an algorithm leaves quantity unallocated the book allocates the
//! rest in time priority, so a faulty algorithm can make allocations unfair but never corrupt the book.

use std::any::Any;
use std::fmt::Debug;

use crate::book::LevelFills;

/// Allocates an incoming order's quantity among the resting orders of one price level.
///
/// ```
/// use tradsys_core::book::{BookEvent, NewOrder, OrderBook, StpPolicy};
/// use tradsys_core::prelude::*;
/// use tradsys_core::types::OrderId;
///
/// /// The last order in at a level fills first.
/// #[derive(Debug, Default)]
/// struct Lifo {
///     orders: Vec<tradsys_core::book::RestingOrder>,
/// }
///
/// impl MatchingAlgorithm for Lifo {
///     fn match_level(&mut self, level: &mut LevelFills<'_>) {
///         // A buffer kept between calls: no allocation per order once it has grown.
///         self.orders.clear();
///         let mut next = level.head();
///         while let Some(order) = next {
///             self.orders.push(order);
///             next = level.next(order);
///         }
///         for &order in self.orders.iter().rev() {
///             level.fill(order, level.remaining(order));
///         }
///     }
/// }
///
/// let order = |id, side, qty| NewOrder {
///     id: OrderId(id),
///     side,
///     order_type: OrderType::Limit,
///     price: Some(Price::from_units(10)),
///     trigger: None,
///     qty: Qty(qty),
///     tif: TimeInForce::Gtc,
///     owner: None,
/// };
/// let mut book = OrderBook::new(Instrument::undeclared("T"), Lifo::default(), StpPolicy::None);
/// let mut events = Vec::new();
/// book.submit(&order(1, Side::Sell, 5), &mut events);
/// book.submit(&order(2, Side::Sell, 5), &mut events);
/// events.clear();
/// book.submit(&order(3, Side::Buy, 7), &mut events);
/// let fills: Vec<(u64, i64)> = events
///     .iter()
///     .filter_map(|event| match event {
///         BookEvent::Trade(trade) => Some((trade.maker.0, trade.qty.0)),
///         _ => None,
///     })
///     .collect();
/// assert_eq!(fills, [(2, 5), (1, 2)], "the later order first, then the earlier one");
/// ```
pub trait MatchingAlgorithm: Send + Debug + 'static {
    /// Allocates up to `level.budget()` lots among the level's orders with [`LevelFills::fill`].
    fn match_level(&mut self, level: &mut LevelFills<'_>);
}

impl<T: MatchingAlgorithm + ?Sized> MatchingAlgorithm for Box<T> {
    #[inline]
    fn match_level(&mut self, level: &mut LevelFills<'_>) {
        (**self).match_level(level);
    }
}

/// A matching algorithm behind a trait object, recoverable as its concrete type.
///
/// Implemented for every [`MatchingAlgorithm`]; the registry's factories return this, and the binary's
/// enum turns it into a static variant when the type is one it compiled in.
pub trait DynMatching: MatchingAlgorithm {
    /// The algorithm as `Any`, to test its concrete type.
    fn as_any(&self) -> &dyn Any;
    /// The algorithm as a boxed `Any`, to take its concrete type.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<T: MatchingAlgorithm> DynMatching for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// A registered matching algorithm as the factory builds it.
pub type BoxedMatching = Box<dyn DynMatching>;

/// Writes the closed enum of compiled-in matching algorithms, its `match`-dispatched
/// [`MatchingAlgorithm`] impl, `From` impls, and an `External` escape variant.
///
/// Put `#[cfg(feature = "...")]` on variants to follow Cargo features; any subset compiles, even none.
///
/// ```
/// use tradsys_core::book::LevelFills;
/// use tradsys_core::matching::{MatchingAlgorithm, BoxedMatching};
///
/// #[derive(Debug, Default)]
/// pub struct Fifo;
/// impl MatchingAlgorithm for Fifo {
///     fn match_level(&mut self, level: &mut LevelFills<'_>) { level.fill_rest_in_time_priority() }
/// }
///
/// tradsys_core::compiled_matching! {
///     /// The algorithms this binary compiled in.
///     #[derive(Debug)]
///     pub enum Compiled {
///         /// Price-time.
///         Fifo(Fifo),
///     }
/// }
///
/// let boxed: BoxedMatching = Box::new(Fifo);
/// assert!(matches!(Compiled::from_boxed(boxed), Compiled::Fifo(_)));
/// ```
#[macro_export]
macro_rules! compiled_matching {
    (
        $(#[$enum_meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident($algo:ty) ),* $(,)?
        }
    ) => {
        $(#[$enum_meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* $variant($algo), )*
            /// A registered algorithm outside this binary's compiled-in set, called through a trait object.
            External($crate::matching::BoxedMatching),
        }

        impl $crate::matching::MatchingAlgorithm for $name {
            #[inline(always)]
            fn match_level(&mut self, level: &mut $crate::book::LevelFills<'_>) {
                match self {
                    $( $(#[$variant_meta])* Self::$variant(algo) => algo.match_level(level), )*
                    Self::External(algo) => algo.match_level(level),
                }
            }
        }

        $(
            $(#[$variant_meta])*
            impl ::core::convert::From<$algo> for $name {
                fn from(algo: $algo) -> Self {
                    Self::$variant(algo)
                }
            }
        )*

        impl $name {
            /// Turns a factory-built algorithm into its static variant, or `External` if not compiled in.
            #[allow(unused_mut)]
            $vis fn from_boxed(mut algo: $crate::matching::BoxedMatching) -> Self {
                $(
                    $(#[$variant_meta])*
                    {
                        if $crate::matching::DynMatching::as_any(&*algo).is::<$algo>() {
                            match $crate::matching::DynMatching::into_any(algo).downcast::<$algo>() {
                                Ok(concrete) => return Self::$variant(*concrete),
                                Err(_) => unreachable!("type checked just above"),
                            }
                        }
                    }
                )*
                Self::External(algo)
            }

            /// The variant's name: the compiled-in type, or `External`.
            $vis fn variant_name(&self) -> &'static str {
                match self {
                    $( $(#[$variant_meta])* Self::$variant(_) => stringify!($variant), )*
                    Self::External(_) => "External",
                }
            }
        }
    };
}
