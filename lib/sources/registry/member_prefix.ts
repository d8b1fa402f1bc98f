/**
 * The name prefix of a serverset member: Aurora's announcer (like Finagle's serversets)
 * creates each member as a sequential znode `member_0000000001`.
 *
 * @module
 */

/**
 * What `zk_member_prefix` is set to, to take only Aurora's members from a path that holds
 * other nodes too. Unset, every child is a member (as in the original).
 */
export const MEMBER_PREFIX = "member_";
