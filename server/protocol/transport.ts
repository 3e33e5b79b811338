/**
 * What both ends of a connection must agree on (part of the protocol; imports nothing from the project): the
 * largest message, where the access token goes, and the socket.io parser that lets a frame's tensors fit in one packet.
 */
import { Decoder, Encoder } from 'socket.io-parser';

/** Largest accepted socket.io message / HTTP body, in bytes. */
export const MAX_PAYLOAD_BYTES = 1_000_000;
/** Header or query parameter carrying ENGRAM_TOKEN when the server is not on loopback. */
export const TOKEN_HEADER = 'x-engram-token';
export const TOKEN_QUERY = 'token';

/**
 * Most binary attachments one socket.io packet may carry. A `memory:frame` carries one per tensor (a DNC layer has
 * about 19), but socket.io-parser's decoder refuses more than 10 by default (a guard against memory exhaustion)
 * and then drops the connection with "parse error".
 */
export const MAX_SOCKET_ATTACHMENTS = 1024;

class FrameDecoder extends Decoder {
  constructor() {
    super({ maxAttachments: MAX_SOCKET_ATTACHMENTS });
  }
}

/**
 * The socket.io parser both ends must use. Clients pass it when connecting:
 * @example
 * const socket = io(url, { parser: socketParser });
 */
export const socketParser = { Encoder, Decoder: FrameDecoder };
