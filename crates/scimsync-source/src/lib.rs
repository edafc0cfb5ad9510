//! Directory sources: where users come from. Each source turns its input into
//! [`Record`]s (and [`Group`]s) and knows nothing of `.map` files: the layer that wires a
//! source to a plan says which attributes it needs ([`Projection`]).
//!
//! ```text
//! settings  the `[source]` table; each kind owns its settings (json/settings, ldap/settings)
//! json/   exports: Okta, Microsoft Graph, plain; one document or JSON Lines (streamed)
//! ldap/   OpenLDAP, 389, Active Directory over LDAP (paged, TLS)
//! ```
//!
//! A source either delivers every user or fails: a truncated read must never look like
//! "these users left", since that would deactivate them.

pub mod json;
pub mod ldap;
pub mod probe;
pub mod settings;
pub mod stream;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use scimsync_lang::record::Attrs;
use scimsync_lang::record::Record;
pub use settings::SourceConfig;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Json(#[from] json::JsonSourceError),
    #[error(transparent)]
    Ldap(#[from] ldap::LdapError),
}

/// A group as a source delivers it, ready for group push.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    /// Stable identity (entryUUID, objectGUID, Okta or Entra group id; the name when the
    /// source has nothing better).
    pub id: String,
    /// The name mappings see (`isMemberOfGroupName`) and a target would show.
    pub name: String,
    /// Other attributes (`description`, `dn`, ...).
    pub attrs: Attrs,
    /// Source ids of the users in the group, by the source's nesting policy (directly, or
    /// through nested groups when flattened).
    pub members: Vec<String>,
    /// Ids of groups directly inside this one.
    pub member_groups: Vec<String>,
}

/// Everything a source read: its users and its groups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Directory {
    pub users: Vec<Record>,
    pub groups: Vec<Group>,
}

/// What a consumer needs from the source, so a directory sends only that.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Projection {
    /// Attribute names to fetch, as the mapping spells them; `None` for every attribute.
    pub attributes: Option<BTreeSet<String>>,
    /// Whether group memberships (and the groups) are needed.
    pub groups: bool,
    /// Whether the groups must list their members. A sync reads each user's group names
    /// and never the member lists, which would hold every source id once more per group.
    pub group_members: bool,
}

impl Projection {
    /// Every attribute and the groups: what a tool that shows whole records needs.
    pub fn everything() -> Projection {
        Projection {
            attributes: None,
            groups: true,
            group_members: true,
        }
    }

    /// Exactly these attributes (and groups when `groups`).
    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(
        attributes: I,
        groups: bool,
    ) -> Projection {
        Projection {
            attributes: Some(attributes.into_iter().map(Into::into).collect()),
            groups,
            group_members: groups,
        }
    }

    /// What both `self` and `other` need: one read that serves several consumers (one
    /// directory read for many targets' mappings).
    pub fn union(self, other: &Projection) -> Projection {
        let attributes = match (self.attributes, &other.attributes) {
            (Some(mut mine), Some(theirs)) => {
                mine.extend(theirs.iter().cloned());
                Some(mine)
            }
            _ => None,
        };
        Projection {
            attributes,
            groups: self.groups || other.groups,
            group_members: self.group_members || other.group_members,
        }
    }
}

/// Reads every user and group the configured source holds, fetching what `projection` asks.
pub async fn read(
    config: &SourceConfig,
    projection: &Projection,
    now: DateTime<Utc>,
) -> Result<Directory, SourceError> {
    let mut users = Vec::new();
    let groups = read_each(config, projection, now, |user| users.push(user)).await?;
    Ok(Directory { users, groups })
}

/// How many users a reader thread hands over at a time: enough that passing them between
/// threads costs nothing next to reading them, few enough that memory does not follow the
/// directory.
const BATCH: usize = 256;

/// Reads every user the configured source holds and hands each one to `each` as soon as it is
/// read (with its groups set), then returns the groups. A consumer that keeps what it makes
/// of each user, not the user, needs memory for that alone.
///
/// The read (of a directory or an export) runs on a thread of its own and `each` runs here,
/// on the caller's task, so the two overlap. An error means the read is incomplete: whatever `each`
/// was given must then be thrown away.
pub async fn read_each(
    config: &SourceConfig,
    projection: &Projection,
    now: DateTime<Utc>,
    each: impl FnMut(Record),
) -> Result<Vec<Group>, SourceError> {
    Reading::start(config, projection, now)?.each(each).await
}

/// A read of the source under way on a thread of its own. [`Reading::opened`] waits for its
/// first users, so a source that cannot be reached (a refused bind, a missing export) fails
/// before anything else is done; [`Reading::each`] then takes every user.
pub struct Reading {
    receiver: tokio::sync::mpsc::Receiver<Delivery>,
    /// What [`Reading::opened`] received, handed on first by [`Reading::each`].
    first: Option<Delivery>,
}

impl Reading {
    /// Starts reading: the reader runs ahead of the consumer by a few batches at most.
    pub fn start(
        config: &SourceConfig,
        projection: &Projection,
        now: DateTime<Utc>,
    ) -> Result<Reading, SourceError> {
        let receiver = match config {
            SourceConfig::Json(json) => {
                let (json, members) = (json.clone(), projection.group_members);
                // File reading and parsing block: on a thread of their own, overlapping `each`.
                spawn_reader("export-reader", move |batches| {
                    let groups =
                        json::read_each(&json, members, |user| batches.push_blocking(user))?;
                    batches.flush_blocking();
                    Ok(groups)
                })?
            }
            SourceConfig::Ldap(ldap) => {
                let (ldap, projection) = (ldap.clone(), projection.clone());
                // The read is one sequential pipeline (socket → BER → records): on a runtime of
                // its own, on one thread, entries never hop between worker threads, and its
                // allocations stay in one arena.
                spawn_reader("ldap-reader", move |batches| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| ldap::LdapError::Runtime(e.to_string()))?;
                    runtime.block_on(async {
                        let groups = ldap::read_users(&ldap, &projection, now, batches).await?;
                        batches.flush().await?;
                        Ok(groups)
                    })
                })?
            }
        };
        Ok(Reading {
            receiver,
            first: None,
        })
    }

    /// Waits until the source has delivered its first users (a directory: connected, bound
    /// and its first page read) or has ended; a read that has failed by then fails here.
    pub async fn opened(&mut self) -> Result<(), SourceError> {
        if self.first.is_some() {
            return Ok(());
        }
        match self.receiver.recv().await {
            Some(Delivery::End(Err(error))) => Err(error),
            Some(delivery) => {
                self.first = Some(delivery);
                Ok(())
            }
            None => Err(reader_stopped()),
        }
    }

    /// Hands every user to `each`, and returns how the read ended.
    pub async fn each(mut self, mut each: impl FnMut(Record)) -> Result<Vec<Group>, SourceError> {
        loop {
            match self.next_batch().await? {
                Batch::Users(users) => users.into_iter().for_each(&mut each),
                Batch::End(groups) => return Ok(groups),
            }
        }
    }

    /// The next users read, in the source's order, as the reader handed them over (a few
    /// hundred at a time), or the groups once every user has been delivered; a read that
    /// failed fails here. For a consumer that passes whole batches on (to planners on other
    /// threads); there is nothing to read after [`Batch::End`].
    pub async fn next_batch(&mut self) -> Result<Batch, SourceError> {
        let delivery = match self.first.take() {
            Some(delivery) => delivery,
            None => self.receiver.recv().await.ok_or_else(reader_stopped)?,
        };
        match delivery {
            Delivery::Users(users) => Ok(Batch::Users(users)),
            Delivery::End(outcome) => outcome.map(Batch::End),
        }
    }
}

/// What [`Reading::next_batch`] gives: users, or the end of the read with its groups.
#[derive(Debug)]
pub enum Batch {
    Users(Vec<Record>),
    End(Vec<Group>),
}

fn reader_stopped() -> SourceError {
    ldap::LdapError::Runtime("the source reader stopped before the end of the read".into()).into()
}

/// Runs `read` on a thread named `name`, which hands users over in batches and then says
/// how the read ended; the receiver gets both.
fn spawn_reader(
    name: &str,
    read: impl FnOnce(&mut Batches) -> Result<Vec<Group>, SourceError> + Send + 'static,
) -> Result<tokio::sync::mpsc::Receiver<Delivery>, SourceError> {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut batches = Batches {
                sender: sender.clone(),
                batch: Vec::with_capacity(BATCH),
            };
            let outcome = read(&mut batches);
            // The consumer may be gone (it stopped); then nobody is waiting for this.
            let _ = sender.blocking_send(Delivery::End(outcome));
        })
        .map_err(|e| ldap::LdapError::Runtime(e.to_string()))?;
    Ok(receiver)
}

/// What a reader thread sends: users as they are read, then how the read ended.
enum Delivery {
    Users(Vec<Record>),
    End(Result<Vec<Group>, SourceError>),
}

/// Groups users into batches for the channel to the consumer.
struct Batches {
    sender: tokio::sync::mpsc::Sender<Delivery>,
    batch: Vec<Record>,
}

impl Batches {
    /// Adds `record`; a full batch comes back, to be sent.
    fn add(&mut self, record: Record) -> Option<Vec<Record>> {
        self.batch.push(record);
        (self.batch.len() >= BATCH).then(|| self.take())
    }

    fn take(&mut self) -> Vec<Record> {
        std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH))
    }

    /// For a reader outside any runtime. A consumer that is gone has stopped: nobody waits
    /// for the rest, so a failed send is not an error of the read.
    fn push_blocking(&mut self, record: Record) {
        if let Some(full) = self.add(record) {
            let _ = self.sender.blocking_send(Delivery::Users(full));
        }
    }

    fn flush_blocking(&mut self) {
        if !self.batch.is_empty() {
            let rest = self.take();
            let _ = self.sender.blocking_send(Delivery::Users(rest));
        }
    }

    async fn send(&mut self, batch: Vec<Record>) -> Result<(), ldap::LdapError> {
        self.sender
            .send(Delivery::Users(batch))
            .await
            .map_err(|_| ldap::LdapError::Runtime("the consumer of the LDAP read stopped".into()))
    }

    async fn flush(&mut self) -> Result<(), ldap::LdapError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = self.take();
        self.send(batch).await
    }
}

impl ldap::UserDelivery for Batches {
    async fn user(&mut self, record: Record) -> Result<(), ldap::LdapError> {
        match self.add(record) {
            Some(full) => self.send(full).await,
            None => Ok(()),
        }
    }
}

/// Reads every user from the configured source (every attribute), blocking. For LDAP this
/// runs its own short-lived runtime on a separate thread, so it works inside or outside one.
pub fn load(config: &SourceConfig) -> Result<Vec<Record>, SourceError> {
    Ok(load_directory(config, &Projection::everything(), Utc::now())?.users)
}

/// [`read`], blocking (see [`load`]).
pub fn load_directory(
    config: &SourceConfig,
    projection: &Projection,
    now: DateTime<Utc>,
) -> Result<Directory, SourceError> {
    match config {
        SourceConfig::Json(json) => Ok(json::read(json)?),
        SourceConfig::Ldap(ldap) => std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| ldap::LdapError::Runtime(e.to_string()))?;
                    runtime.block_on(ldap::read(ldap, projection, now))
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(ldap::LdapError::Runtime("the LDAP reader panicked".into()))
                })
        })
        .map_err(SourceError::from),
    }
}

/// The users of an export one at a time, without holding the file in memory (JSON Lines
/// and JSON documents alike). Each item is a user or the error that ends the stream; a
/// consumer must not act on a stream that ended in an error as if it were complete.
/// Directories (LDAP) are read with [`read`], page by page.
pub fn stream(config: &SourceConfig) -> Result<json::RecordStream, SourceError> {
    match config {
        SourceConfig::Json(json) => Ok(json::RecordStream::open(json)?),
        SourceConfig::Ldap(_) => Err(SourceError::Ldap(ldap::LdapError::Runtime(
            "an LDAP directory is read with source::read, not streamed from a file".into(),
        ))),
    }
}

#[cfg(test)]
mod projection_tests {
    use super::Projection;

    #[test]
    fn a_union_fetches_what_either_side_needs() {
        let a = Projection::only(["mail", "sn"], false);
        let b = Projection::only(["mail", "title"], true);
        let both = a.clone().union(&b);
        assert_eq!(
            both.attributes.map(|a| a.into_iter().collect::<Vec<_>>()),
            Some(vec!["mail".to_owned(), "sn".to_owned(), "title".to_owned()])
        );
        assert!(both.groups && both.group_members);
        assert_eq!(a.union(&Projection::everything()).attributes, None);
    }
}
